"""`python -m bot admin ...`: invite codes and teams, from the command line.

python -m bot admin invite --role worker --team "Wijkteam Noord" [--expires-hours 72]
python -m bot admin teams
python -m bot admin rotate-key | reencrypt | drop-old-keys     (see "Keys and retention" in README)
python -m bot admin purge                                       (the daily retention job, now)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Column, Table, Text, func, select, type_coerce, update

from bot import access, crypto, retention
from bot.dashboard import admin_cli
from bot.db import Database
from bot.models import Base, Invite, Role, Team, User
from bot.models.base import Encrypted
from bot.settings import DATA_KEYS_FILE, Settings, new_data_key

REENCRYPT_BATCH = 500

DEFAULT_EXPIRES_HOURS = 72.0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bot admin", description="Deuropener administration")
    commands = root.add_subparsers(dest="command", required=True)
    invite = commands.add_parser("invite", help="create a single-use invite code")
    invite.add_argument("--role", required=True, choices=[r.value for r in Role])
    invite.add_argument("--team", required=True, help="team name (created if new)")
    invite.add_argument(
        "--expires-hours",
        type=float,
        default=DEFAULT_EXPIRES_HOURS,
        help=f"how long the code works (default {DEFAULT_EXPIRES_HOURS:.0f})",
    )
    commands.add_parser("teams", help="list teams with their members and open invites")
    commands.add_parser("rotate-key", help="step 1 of a key rotation: make a new data key and put it first")
    reencrypt = commands.add_parser(
        "reencrypt", help="step 2: re-encrypt all stored data with the first key (processes keep running)"
    )
    reencrypt.add_argument("--batch-size", type=int, default=REENCRYPT_BATCH, help="rows per transaction")
    commands.add_parser("drop-old-keys", help="step 3: check no data needs the older keys, then drop them")
    commands.add_parser("purge", help="delete transcripts, cases and Rasa events past RETENTION_DAYS, now")
    admin_cli.add_commands(commands, invite)  # team-policy, audit, invite --sharing
    return root


def bot_username(settings: Settings) -> str | None:
    """The bot's @username (for the deep link), asked from the Bot API; None if unknown."""
    if not settings.telegram_token:
        return None
    base = (settings.telegram_api_base_url or "https://api.telegram.org").rstrip("/")
    try:
        answer = httpx.get(f"{base}/bot{settings.telegram_token}/getMe", timeout=5).json()
        return answer["result"]["username"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        ring = crypto.configure_from(settings)
    except crypto.DataKeyError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if args.command == "rotate-key":
        return rotate_key(settings, ring)
    if args.command == "purge":
        print(f"Retention {settings.retention_days} days: {retention.purge_with(settings)}.")
        return 0
    db = Database(settings.database_url)
    db.migrate()
    try:
        if admin_cli.run(args, db):
            return 0
        if args.command == "reencrypt":
            return _reencrypt(db, ring, args.batch_size)
        if args.command == "drop-old-keys":
            return drop_old_keys(settings, db, ring)
        if args.command == "invite":
            valid_for = timedelta(hours=args.expires_hours)
            with db.session() as session:
                code = access.create_invite(session, Role(args.role), args.team, valid_for)
            expires = datetime.now(UTC) + valid_for
            print(f"Invite code: {code}")
            team = " ".join(args.team.split())
            print(f"Role {args.role}, team {team}, valid until {expires:%Y-%m-%d %H:%M} UTC; works once.")
            print(f"In Telegram, the user sends the bot:  /start {code}")
            if username := bot_username(settings):
                print(f"or opens this link:  {access.deep_link(username, code)}")
        else:
            _print_teams(db)
    finally:
        db.dispose()
    return 0


def _print_teams(db: Database) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        teams = session.scalars(select(Team).order_by(Team.name)).all()
        if not teams:
            print("No teams yet: create one with `python -m bot admin invite --role worker --team NAME`.")
        for team in teams:
            members = session.scalar(select(func.count(User.id)).where(User.team_id == team.id))
            open_invites = session.scalar(
                select(func.count(Invite.id)).where(
                    Invite.team_id == team.id, Invite.used_at.is_(None), Invite.expires_at > now
                )
            )
            print(f"{team.name}: {members} member(s), {open_invites} open invite(s)")


# --- data keys ---------------------------------------------------------------------------------


def _key_file(settings: Settings) -> str | None:
    """The key file the keys come from; None when DEUROPENER_DATA_KEYS sets them."""
    return None if os.environ.get("DEUROPENER_DATA_KEYS") else str(settings.data_dir / DATA_KEYS_FILE)


def _write_keys(path: str, keys: list[str]) -> None:
    draft = f"{path}.new"
    with open(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(",".join(keys))
    os.replace(draft, path)  # atomic: a process starting now reads the old or the new list


def rotate_key(settings: Settings, ring: crypto.KeyRing) -> int:
    keys = [new_data_key(), *ring.keys]
    if path := _key_file(settings):
        _write_keys(path, keys)
        print(f"A new data key is now first in {path}; the {len(ring.keys)} older key(s) follow it.")
    else:
        print("New data key made. Set DEUROPENER_DATA_KEYS to this value (new key first, old after it):")
        print(f"  DEUROPENER_DATA_KEYS={','.join(keys)}")
    print("Next:")
    print("  1. Restart the processes one by one (bot, action server): each then encrypts with the")
    print("     new key and still reads data encrypted with the old ones. Nothing goes offline.")
    print("  2. python -m bot admin reencrypt       re-encrypts all stored data with the new key")
    print("  3. python -m bot admin drop-old-keys   checks nothing needs the old keys, then drops them")
    return 0


@dataclass
class Reencrypted:
    current: int = 0  # already encrypted with the first key
    rewritten: int = 0  # re-encrypted with the first key (plaintext ones included)
    plaintext: int = 0  # of those: written before encryption existed
    changed: int = 0  # written meanwhile by a running process: left as it is

    @property
    def total(self) -> int:
        return self.current + self.rewritten + self.changed


def encrypted_columns() -> Iterator[tuple[Table, Column[object]]]:
    """Every column holding encrypted data (`Encrypted` types), in every table."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Encrypted):
                yield table, column


def reencrypt(
    db: Database, ring: crypto.KeyRing, batch_size: int = REENCRYPT_BATCH, dry_run: bool = False
) -> Reencrypted:
    """Re-encrypt every stored value that isn't encrypted with the first key, in short batches.

    A row is only rewritten if it still holds what was read (so a concurrent write wins); with
    `dry_run`, only counts what would be rewritten.
    """
    counts = Reencrypted()
    for table, column in encrypted_columns():
        (key,) = table.primary_key.columns
        raw = type_coerce(column, Text())  # the stored text, not decrypted
        last = None
        while True:
            query = select(key, raw).where(column.is_not(None)).order_by(key).limit(batch_size)
            if last is not None:
                query = query.where(key > last)
            with db.session() as session:  # one short transaction per batch
                rows = session.execute(query).all()
                for row_id, stored in rows:
                    if ring.is_current(stored):
                        counts.current += 1
                        continue
                    if not dry_run:
                        new = type_coerce(ring.reencrypt(stored), Text())
                        change = update(table).where(key == row_id, raw == stored).values({column.name: new})
                        if not session.execute(change).rowcount:
                            counts.changed += 1
                            continue
                    counts.rewritten += 1
                    counts.plaintext += not crypto.is_encrypted(stored)
            if len(rows) < batch_size:
                break
            last = rows[-1][0]
    return counts


def _reencrypt(db: Database, ring: crypto.KeyRing, batch_size: int) -> int:
    done = reencrypt(db, ring, batch_size)
    print(
        f"Re-encrypted {done.rewritten} value(s) with the first key ({done.plaintext} were not encrypted "
        f"yet); {done.current} already were."
    )
    left = reencrypt(db, ring, dry_run=True).rewritten
    if left:
        print(f"{left} value(s) still need an older key: a process still runs with the old key list.")
        print("Restart every process with the new DEUROPENER_DATA_KEYS, then run reencrypt again.")
        return 1
    print("Everything is encrypted with the first key: `python -m bot admin drop-old-keys` is safe now.")
    return 0


def drop_old_keys(settings: Settings, db: Database, ring: crypto.KeyRing) -> int:
    if len(ring.keys) == 1:
        print("Only one data key is configured: nothing to drop.")
        return 0
    left = reencrypt(db, ring, dry_run=True).rewritten
    if left:
        print(f"{left} value(s) still need an older key: run `python -m bot admin reencrypt` first.")
        return 1
    if path := _key_file(settings):
        _write_keys(path, ring.keys[:1])
        print(f"Dropped {len(ring.keys) - 1} old key(s) from {path}. Restart the processes one by one.")
    else:
        print("No stored data needs the older keys. Set DEUROPENER_DATA_KEYS to the first key only:")
        print(f"  DEUROPENER_DATA_KEYS={ring.keys[0]}")
        print("and restart the processes one by one.")
    return 0
