"""The admin's supervision commands, added to `python -m bot admin`:

python -m bot admin team-policy --team NAME --sharing all|cases|none   (a team's default sharing)
python -m bot admin invite ... --sharing all|cases|none                 (the same, when inviting)
python -m bot admin audit [--team NAME] [--limit N]                     (the full audit log)
"""

from __future__ import annotations

import argparse

from bot import access, sharing
from bot.dashboard import audit
from bot.db import Database
from bot.models.dashboard import ShareMode

MODES = [m.value for m in ShareMode]


def add_commands(commands: argparse._SubParsersAction, invite: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    help_sharing = "the team's default sharing until a worker chooses with /delen (default: none)"
    invite.add_argument("--sharing", choices=MODES, help=help_sharing)
    policy = commands.add_parser("team-policy", help="set a team's default sharing with its supervisors")
    policy.add_argument("--team", required=True, help="team name (created if new)")
    policy.add_argument("--sharing", required=True, choices=MODES, help=help_sharing)
    log = commands.add_parser("audit", help="print the audit log: every view and export of transcripts")
    log.add_argument("--team", help="only what this team's members viewed")
    log.add_argument("--limit", type=int, help="only the latest N entries")


def run(args: argparse.Namespace, db: Database) -> bool:
    """Carry out a supervision command; False when it is another command (still to run)."""
    if args.command in ("team-policy", "invite") and getattr(args, "sharing", None):
        with db.session() as session:
            team = access.team_named(session, args.team)
            sharing.set_team_policy(session, team.id, ShareMode(args.sharing))
            name = team.name
        print(f"Team {name}: workers share '{args.sharing}' with their supervisors until they choose.")
        return args.command == "team-policy"
    if args.command == "audit":
        with db.session() as session:
            lines = audit.full_log(session, team=args.team, limit=args.limit)
        print("\n".join(lines) if lines else "The audit log is empty.")
        return True
    return False
