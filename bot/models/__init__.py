"""The application's tables, one model per module. Importing this package registers them all."""

from bot.models.base import Base
from bot.models.case import Case
from bot.models.invite import Invite
from bot.models.message import Direction, Message, Status
from bot.models.progress import FlowProgress
from bot.models.stranger import Stranger
from bot.models.team import Team
from bot.models.user import Role, User

__all__ = [
    "Base",
    "Case",
    "Direction",
    "FlowProgress",
    "Invite",
    "Message",
    "Role",
    "Status",
    "Stranger",
    "Team",
    "User",
]
