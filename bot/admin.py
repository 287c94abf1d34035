"""`python -m bot admin ...`: invite codes and teams, from the command line.

python -m bot admin invite --role worker --team "Wijkteam Noord" [--expires-hours 72]
python -m bot admin teams
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from bot import access
from bot.db import Database
from bot.models import Invite, Role, Team, User
from bot.settings import Settings

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
    db = Database(settings.database_url)
    db.migrate()
    try:
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
