"""Build Rasa button payloads (kept short: Telegram allows 64 bytes of callback data)."""

from __future__ import annotations

import json
from typing import Any

from coach import flows
from coach.flow_text import STOP

MENU_BUTTON = {"title": "Menu", "payload": "/ask_capabilities"}
STRATEGY = "strategie"  # not a guided flow: the strategy choice has its own action


def button(title: str, intent: str, **entities: str) -> dict[str, Any]:
    payload = f"/{intent}"
    if entities:
        payload += json.dumps(entities, separators=(",", ":"), ensure_ascii=False)
    return {"title": title, "payload": payload}


def choice_buttons(options: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Buttons for a flow step; the stop button sends the stop intent itself."""
    return [
        button(title, "stop") if choice == STOP else button(title, "choose", choice=choice)
        for title, choice in options
    ]


def flow_button(flow_id: str, case_id: int | None = None, title: str | None = None) -> dict[str, Any]:
    if flow_id == STRATEGY:
        return button(title or "Contactstrategie kiezen", "ask_strategy")
    name = title or flows.flows()[flow_id].title
    if case_id is None:
        return button(name, "start_flow", flow=flow_id)
    return button(name, "start_flow", flow=flow_id, case_id=str(case_id))
