"""What the session's Rasa fixture hands out (its own module, so every importer sees one class)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.tcp_proxy import TcpProxy


@dataclass(frozen=True)
class RasaStack:
    """The real Rasa server and action server, as the bot sees them."""

    url: str
    token: str  # for Rasa's HTTP API
    action_proxy: TcpProxy  # Rasa reaches the action server through it: switch it off to test outages
    tracker_db: Path  # Rasa's SQLite tracker store
    database_url: str = ""  # the action server's application database (cases, reflections)

    @property
    def action_url(self) -> str:
        return f"{self.action_proxy.url}/webhook"
