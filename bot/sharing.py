"""What a worker shares with the supervisors of their team: all, per case, or nothing.

The worker chooses with /delen; until then their team's policy (set by the admin) applies,
and without a policy nothing is shared. Each incoming message is tagged with the case and
the strategy its turn was about (read from Rasa's tracker), so per-case sharing can be
enforced on the transcript itself. What a supervisor may *see* is decided in one place,
`bot/dashboard/scope.py`, from what this module says is shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import texts
from bot.models import Case, Role, User
from bot.models.dashboard import SharedCase, ShareMode, Sharing, TeamPolicy, TurnTag
from bot.replies import MENU_BUTTON, Button, Reply

SHARE = "share"  # the local action of /delen and of its buttons ("share:all", "share:case:12", ...)
LOCAL_BUTTON_PREFIX = "bot:"
MAX_CASE_BUTTONS = 12
# Rasa slots that say a strategy was just recommended (actions/strategy.py resets the facts then).
STRATEGY_SLOT, FACTS_SLOT = "strategy", "situation_facts"
STRATEGY_INTENTS = {"ask_strategy", "describe_situation"}


@dataclass(frozen=True)
class Shared:
    """A worker's sharing in force: the mode and, for per-case sharing, which cases."""

    mode: ShareMode
    case_ids: frozenset[int] = frozenset()
    chosen: bool = False  # the worker chose it (else: the team's policy)


def team_policy(session: Session, team_id: int) -> ShareMode:
    policy = session.get(TeamPolicy, team_id)
    return ShareMode(policy.default_sharing) if policy else ShareMode.NONE


def set_team_policy(session: Session, team_id: int, mode: ShareMode) -> None:
    policy = session.get(TeamPolicy, team_id)
    if policy is None:
        session.add(TeamPolicy(team_id=team_id, default_sharing=ShareMode(mode).value))
    else:
        policy.default_sharing = ShareMode(mode).value
    session.flush()


def shared(session: Session, user: User) -> Shared:
    """What the worker shares now: their own choice, else their team's policy."""
    choice = session.get(Sharing, user.id)
    mode = ShareMode(choice.mode) if choice else team_policy(session, user.team_id)
    cases: frozenset[int] = frozenset()
    if mode is ShareMode.CASES:
        cases = frozenset(
            session.scalars(
                select(SharedCase.case_id)
                .join(Case, Case.id == SharedCase.case_id)
                .where(SharedCase.user_id == user.id, Case.owner == user.pseudonym)
            )
        )
    return Shared(mode, cases, chosen=choice is not None)


def set_mode(session: Session, user: User, mode: ShareMode) -> None:
    choice = session.get(Sharing, user.id)
    if choice is None:
        session.add(Sharing(user_id=user.id, mode=ShareMode(mode).value))
    else:
        choice.mode = ShareMode(mode).value
    session.flush()


def toggle_case(session: Session, user: User, case_id: int) -> bool:
    """Share or stop sharing one of the worker's own cases; False if it isn't theirs."""
    case = session.get(Case, case_id)
    if case is None or case.owner != user.pseudonym:
        return False
    existing = session.get(SharedCase, (user.id, case_id))
    if existing is None:
        session.add(SharedCase(user_id=user.id, case_id=case_id))
    else:
        session.delete(existing)
    set_mode(session, user, ShareMode.CASES)
    return True


def tag_turn(session: Session, message_id: int, slots: dict[str, Any], intent: str | None) -> None:
    """Remember the case, the recommended strategy and the flow step of one turn."""
    state = slots.get("flow_state")
    case_id = state.get("case_id") if isinstance(state, dict) else None
    step = _step(state) if isinstance(state, dict) else None
    strategy = None
    if intent in STRATEGY_INTENTS and slots.get(FACTS_SLOT) is None and slots.get(STRATEGY_SLOT):
        strategy = str(slots[STRATEGY_SLOT])
    if case_id is None and strategy is None and step is None:
        return
    if case_id is not None and session.get(Case, case_id) is None:
        case_id = None
    session.merge(TurnTag(message_id=message_id, case_id=case_id, strategy=strategy, step=step))


def _step(state: dict[str, Any]) -> str | None:
    from coach import flows  # the content loads on first use

    try:
        done, total = flows.progress(state)
    except (KeyError, TypeError):
        return None
    return f"{min(done + 1, total)}/{total}"


def forget_cases(session: Session, user: User) -> None:
    session.execute(delete(SharedCase).where(SharedCase.user_id == user.id))


# --- /delen ------------------------------------------------------------------------------------


def _button(title: str, action: str) -> Button:
    return Button(title, f"{LOCAL_BUTTON_PREFIX}{SHARE}:{action}")


def describe(session: Session, user: User) -> str:
    """One line for /privacy: what the supervisors of the worker's team can see now."""
    now = shared(session, user)
    labels = []
    if now.mode is ShareMode.CASES and now.case_ids:
        labels = [
            c.label for c in session.scalars(select(Case).where(Case.id.in_(now.case_ids)).order_by(Case.id))
        ]
    return texts.sharing_line(now.mode.value, labels, now.chosen)


def answer(session: Session, user: User, action: str) -> list[Reply]:
    """The answer to /delen ("share") or one of its buttons ("share:all", "share:case:12", ...)."""
    if user.role != Role.WORKER.value:
        return [Reply(texts.SHARE_NOT_FOR_SUPERVISORS, (MENU_BUTTON,))]
    _, _, choice = action.partition(":")
    if choice == ShareMode.ALL.value:
        set_mode(session, user, ShareMode.ALL)
        return [Reply(texts.SHARED_ALL, (MENU_BUTTON,))]
    if choice == ShareMode.NONE.value:
        set_mode(session, user, ShareMode.NONE)
        return [Reply(texts.SHARED_NONE, (MENU_BUTTON,))]
    if choice == ShareMode.CASES.value:
        set_mode(session, user, ShareMode.CASES)
        return [_case_picker(session, user)]
    if choice.startswith("case:"):
        case_id = choice.removeprefix("case:")
        if not case_id.isdigit() or not toggle_case(session, user, int(case_id)):
            return [Reply(texts.STALE_BUTTON, (MENU_BUTTON,))]
        return [_case_picker(session, user)]
    if choice == "done":
        return [Reply(describe(session, user), (MENU_BUTTON,))]
    buttons = (
        _button(texts.SHARE_ALL, ShareMode.ALL.value),
        _button(texts.SHARE_CASES, ShareMode.CASES.value),
        _button(texts.SHARE_NONE, ShareMode.NONE.value),
    )
    return [Reply(f"{texts.SHARE_QUESTION}\n\n{describe(session, user)}", buttons)]


def _case_picker(session: Session, user: User) -> Reply:
    cases = list(
        session.scalars(
            select(Case).where(Case.owner == user.pseudonym).order_by(Case.updated_at.desc(), Case.id)
        )
    )[:MAX_CASE_BUTTONS]
    if not cases:
        return Reply(texts.SHARE_NO_CASES, (MENU_BUTTON,))
    picked = shared(session, user).case_ids
    buttons = [_button(("✓ " if c.id in picked else "") + c.label, f"case:{c.id}") for c in cases]
    buttons.append(_button(texts.SHARE_DONE, "done"))
    return Reply(texts.SHARE_PICK_CASES, tuple(buttons))
