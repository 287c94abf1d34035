"""Build Rasa button payloads (kept short: Telegram allows 64 bytes of callback data)."""

from __future__ import annotations

import json
from typing import Any

MENU_BUTTON = {"title": "Menu", "payload": "/ask_capabilities"}


def button(title: str, intent: str, **entities: str) -> dict[str, Any]:
    payload = f"/{intent}"
    if entities:
        payload += json.dumps(entities, separators=(",", ":"), ensure_ascii=False)
    return {"title": title, "payload": payload}
