"""Which flow a turn belonged to, for the transcript.

In order: the guided flow running in Rasa (the `flow_state` slot's "flow"), else an active
form, else the topic of the recognised intent — the domain file that declares it
(domain/strategy.yml -> "strategy"; the domain is split by topic).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.rasa_client import TurnInfo
from bot.settings import ROOT

log = logging.getLogger(__name__)

DOMAIN_DIR = ROOT / "domain"


@cache
def intent_topics(domain_dir: Path = DOMAIN_DIR) -> dict[str, str]:
    """intent -> topic (the stem of the domain file that lists it)."""
    topics: dict[str, str] = {}
    for path in sorted(domain_dir.glob("*.yml")):
        try:
            data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            log.warning("Could not read %s: %s", path, exc)
            continue
        for intent in data.get("intents") or []:
            name = next(iter(intent)) if isinstance(intent, dict) else str(intent)
            topics.setdefault(name, path.stem)
    return topics


def flow_of(turn: TurnInfo) -> str | None:
    state = turn.slots.get("flow_state")
    if isinstance(state, dict) and state.get("flow"):
        return str(state["flow"])
    if turn.active_loop:
        return turn.active_loop
    return intent_topics().get(turn.intent or "")
