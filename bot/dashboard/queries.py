"""The dashboard's views of the data, all through a `Scope`: conversations, the team
overview, transcripts and exports.

A conversation is a run of a worker's (visible) messages with no pause longer than
`CONVERSATION_GAP`; it is known by the id of its first message. Message texts are encrypted
at rest, so the text search happens here, in Python, after decryption.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.dashboard.scope import Scope
from bot.models import Direction, Message, User
from bot.models.dashboard import Comment, TurnTag

TIMEZONE = ZoneInfo("Europe/Amsterdam")  # dates on the pages and in the filters
CONVERSATION_GAP = timedelta(minutes=30)
RECENT = timedelta(days=30)
LOW_CONFIDENCE = 0.55
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_FLOWS = {"guard"}  # the bot's own answers to unusable input


def strategy_names() -> dict[str, str]:
    from coach import content

    return {key: value["name"] for key, value in content.load("strategies")["strategies"].items()}


def flow_names() -> dict[str, str]:
    from coach import flows

    names = {flow.id: flow.title for flow in flows.flows().values()}
    names.update(
        {
            "strategy": "Contactstrategie",
            "core": "Algemeen",
            "privacy": "Privacy",
            "access": "Aanmelden",
            "crisis": "Crisis",
            "guard": "Onbruikbaar bericht",
            "feedback": "Feedback",
            "supervision": "Delen en dashboard",
        }
    )
    return names


@dataclass
class Turn:
    message: Message
    tag: TurnTag | None
    case: str | None

    @property
    def incoming(self) -> bool:
        return self.message.direction == Direction.IN.value

    @property
    def low_confidence(self) -> bool:
        c = self.message.confidence
        return self.incoming and c is not None and c < LOW_CONFIDENCE

    @property
    def fallback(self) -> bool:
        return self.message.intent == FALLBACK_INTENT or (self.message.flow or "") in FALLBACK_FLOWS


@dataclass
class Conversation:
    worker: User
    turns: list[Turn] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.turns[0].message.id

    @property
    def start(self) -> datetime:
        return self.turns[0].message.created_at

    @property
    def end(self) -> datetime:
        return self.turns[-1].message.created_at

    @property
    def flows(self) -> list[str]:
        return sorted({t.message.flow for t in self.turns if t.message.flow})

    @property
    def cases(self) -> list[str]:
        return sorted({t.case for t in self.turns if t.case})

    @property
    def strategies(self) -> list[str]:
        return sorted({t.tag.strategy for t in self.turns if t.tag and t.tag.strategy})

    @property
    def asked(self) -> int:
        return sum(t.incoming for t in self.turns)

    def matches(self, text: str) -> bool:
        needle = text.casefold()
        return any(needle in (t.message.text or "").casefold() for t in self.turns)


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None
    flow: str | None = None
    strategy: str | None = None
    text: str | None = None

    @classmethod
    def parse(cls, args: dict[str, str]) -> Filters:
        def day(value: str | None) -> date | None:
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        def plain(value: str | None) -> str | None:
            value = (value or "").strip()
            return value[:100] or None

        return cls(
            since=day(args.get("van")),
            until=day(args.get("tot")),
            flow=plain(args.get("onderwerp")),
            strategy=plain(args.get("strategie")),
            text=plain(args.get("zoek")),
        )

    def as_args(self) -> dict[str, str]:
        values = {
            "van": self.since.isoformat() if self.since else "",
            "tot": self.until.isoformat() if self.until else "",
            "onderwerp": self.flow or "",
            "strategie": self.strategy or "",
            "zoek": self.text or "",
        }
        return {k: v for k, v in values.items() if v}

    def describe(self) -> str:
        parts = [f"{k}: {v}" for k, v in self.as_args().items()]
        return ", ".join(parts) if parts else "alle"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TIMEZONE)


def _turns(scope: Scope, worker: User, messages: list[Message]) -> list[Turn]:
    tags = scope.tags(m.id for m in messages)
    labels = {c.id: c.label for c in scope.cases(worker)}
    turns = []
    for m in messages:
        tag = tags.get(m.id) or (tags.get(m.reply_to_id) if m.reply_to_id else None)
        case_id = tag.case_id if tag else None
        turns.append(Turn(m, tags.get(m.id), labels.get(case_id) if case_id is not None else None))
    return turns


def group(worker: User, turns: list[Turn]) -> list[Conversation]:
    conversations: list[Conversation] = []
    for turn in turns:
        if not conversations or turn.message.created_at - conversations[-1].end > CONVERSATION_GAP:
            conversations.append(Conversation(worker))
        conversations[-1].turns.append(turn)
    return conversations


def conversations(scope: Scope, worker: User, filters: Filters = Filters()) -> list[Conversation]:
    """The worker's visible conversations matching the filters, newest first."""
    since = _start_of(filters.since) - CONVERSATION_GAP if filters.since else None
    until = _start_of(filters.until + timedelta(days=1)) + CONVERSATION_GAP if filters.until else None
    found = group(worker, _turns(scope, worker, scope.messages(worker, since, until)))
    result = []
    for c in found:
        if filters.since and c.start < _start_of(filters.since):
            continue
        if filters.until and c.start >= _start_of(filters.until + timedelta(days=1)):
            continue
        if filters.flow and filters.flow not in c.flows:
            continue
        if filters.strategy and filters.strategy not in c.strategies:
            continue
        if filters.text and not c.matches(filters.text):
            continue
        result.append(c)
    return sorted(result, key=lambda c: c.start, reverse=True)


def transcript(scope: Scope, message_id: int) -> Conversation | None:
    """The visible conversation that holds this message (None: not there, or not for this viewer)."""
    message = scope.message(message_id)
    if message is None:
        return None
    worker = scope.worker(message.user_id)
    assert worker is not None  # scope.message checked it
    window = timedelta(days=2)
    turns = _turns(
        scope, worker, scope.messages(worker, message.created_at - window, message.created_at + window)
    )
    for conversation in group(worker, turns):
        if any(t.message.id == message_id for t in conversation.turns):
            return conversation
    return None


@dataclass
class WorkerRow:
    worker: User
    sharing: str
    conversations: int
    reflections: int
    strategies: Counter[str]
    last_activity: datetime | None


def team_overview(scope: Scope, now: datetime | None = None) -> list[WorkerRow]:
    """Per worker, the last 30 days of what they share (from times and tags: no text is decrypted)."""
    since = (now or datetime.now(UTC)) - RECENT
    rows = []
    for worker in scope.workers():
        times = scope.times(worker, since - CONVERSATION_GAP)
        starts, previous = 0, None
        for _, at in times:
            if (previous is None or at - previous > CONVERSATION_GAP) and at >= since:
                starts += 1
            previous = at
        tags = scope.tags(i for i, at in times if at >= since)
        rows.append(
            WorkerRow(
                worker=worker,
                sharing=scope.shared(worker).mode.value,
                conversations=starts,
                reflections=len(scope.reflections(worker, since)),
                strategies=Counter(t.strategy for t in tags.values() if t.strategy),
                last_activity=scope.last_activity(worker),
            )
        )
    return rows


# --- export --------------------------------------------------------------------------------

EXPORT_FIELDS = [
    "gesprek",
    "bericht",
    "tijd",
    "van",
    "tekst",
    "onderwerp",
    "stap",
    "cliënt",
    "strategie",
    "bedoeling",
    "zekerheid",
    "lage_zekerheid",
    "terugval",
]


def export_rows(conversations_: list[Conversation]) -> list[dict[str, Any]]:
    rows = []
    for c in conversations_:
        for t in c.turns:
            m = t.message
            rows.append(
                {
                    "gesprek": c.id,
                    "bericht": m.id,
                    "tijd": m.created_at.isoformat(),
                    "van": "professional" if t.incoming else "Deuropener",
                    "tekst": m.text or "",
                    "onderwerp": m.flow or "",
                    "stap": t.tag.step if t.tag and t.tag.step else "",
                    "cliënt": t.case or "",
                    "strategie": t.tag.strategy if t.tag and t.tag.strategy else "",
                    "bedoeling": m.intent or "",
                    "zekerheid": m.confidence if m.confidence is not None else "",
                    "lage_zekerheid": t.low_confidence,
                    "terugval": t.fallback,
                }
            )
    return rows


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        # A cell starting with = + - @ would run as a formula in a spreadsheet: neutralise it.
        writer.writerow({k: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for k, v in row.items()})
    return out.getvalue()


def comment_rows(comments: list[Comment]) -> list[dict[str, Any]]:
    return [
        {
            "bericht": c.message_id,
            "over": "beurt" if c.about_turn else "gesprek",
            "tijd": c.created_at.isoformat(),
            "feedback": c.text,
            "reactie": c.reply,
            "gereageerd_op": c.replied_at.isoformat() if c.replied_at else None,
        }
        for c in comments
    ]
