"""The application's tables, one model per module. Importing this package registers them all."""

from bot.models import dashboard  # noqa: F401  (registers the supervision tables)
from bot.models.base import Base
from bot.models.case import Case
from bot.models.invite import Invite
from bot.models.message import Direction, Message, Status
from bot.models.nudge import DispatchStatus, NudgeDispatch, NudgeSchedule
from bot.models.progress import FlowProgress
from bot.models.reflection import Reflection
from bot.models.stranger import Stranger
from bot.models.team import Team
from bot.models.user import Role, User

__all__ = [
    "Base",
    "Case",
    "Direction",
    "DispatchStatus",
    "FlowProgress",
    "Invite",
    "Message",
    "NudgeDispatch",
    "NudgeSchedule",
    "Reflection",
    "Role",
    "Status",
    "Stranger",
    "Team",
    "User",
]
