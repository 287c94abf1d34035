"""Choose a contact strategy from what is known about the client's situation.

Source: "Schema voortraject, contactlegging en beginfase van onvrijwillige hulpverlening",
which says when each of the five strategies fits. Facts are weighed in the order of
coach/content/situations.yml: confronting with the consequences of refusal only when the
other strategies failed (last resort); a client who only wants to be rid of the worker; a
refusing client at risk of eviction or forced admission; a client who wants something (or
to avoid something); a very distrustful, defensive client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from coach import content

NONE_OF_THESE = "none"  # the worker said no listed situation applies


@dataclass(frozen=True)
class Fact:
    key: str
    strategy: str
    option: str  # short label for a button


@cache
def facts() -> tuple[Fact, ...]:
    """The situation facts in the order they are weighed."""
    spec = content.load("situations")["facts"]
    return tuple(Fact(key, item["strategy"], item["option"]) for key, item in spec.items())


@dataclass(frozen=True)
class Recommendation:
    strategy: str  # canonical strategy id
    because: str  # the fact that decided it
    also_fits: tuple[str, ...] = ()  # other strategies whose situation also applies


@dataclass(frozen=True)
class Question:
    """Ask which of these situations applies (one tap; the fewest questions possible)."""

    options: tuple[Fact, ...]


@dataclass(frozen=True)
class NoClearFit:
    """None of the five situations applies: no strategy is recommended."""


Decision = Recommendation | Question | NoClearFit


def decide(known: Mapping[str, bool]) -> Decision:
    """Recommend a strategy when a known fact decides it; otherwise ask about the rest."""
    present = [fact for fact in facts() if known.get(fact.key) is True]
    if present:
        first, *others = present
        return Recommendation(
            strategy=first.strategy,
            because=first.key,
            also_fits=tuple(dict.fromkeys(f.strategy for f in others if f.strategy != first.strategy)),
        )
    open_facts = [fact for fact in facts() if fact.key not in known]
    if not open_facts or known.get(NONE_OF_THESE):
        return NoClearFit()
    order = list(content.strategies())  # offer the options in the source's order
    return Question(options=tuple(sorted(open_facts, key=lambda f: order.index(f.strategy))))


def update(known: Mapping[str, bool], answer: Mapping[str, bool]) -> dict[str, bool]:
    """Merge newly learned facts into what was known; "none of these" rules out the rest."""
    merged = dict(known)
    if answer.get(NONE_OF_THESE):
        merged.update({fact.key: False for fact in facts() if fact.key not in merged})
        merged[NONE_OF_THESE] = True
        return merged
    merged.update(answer)
    return merged
