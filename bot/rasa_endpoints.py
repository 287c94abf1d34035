"""Rasa's endpoints (action server, tracker store, lock store), chosen by environment variables.

Embedded default: our tracker store (rasa_addons/tracker_store.py) in a SQLite file and Rasa's
in-memory lock store (one Rasa process). Scale-out: `RASA_TRACKER_DB_URL=postgresql://...` puts
the tracker store in PostgreSQL and `REDIS_URL=redis://...` the lock store in Redis, so several
Rasa servers can serve the same conversations. The launcher writes the result to
`data/endpoints.yml`; `python -m bot endpoints` prints it for a Rasa server started by other
means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.settings import Settings

REDIS_KEY_PREFIX = "deuropener"
# Rasa's own RedisLockStore can leave a request waiting forever after a server dies; this one
# can't (see its docstring). It is imported by the Rasa server: the project folder must be on
# its PYTHONPATH (the launcher and the Makefile set it).
FAIR_REDIS_LOCK_STORE = "rasa_addons.lock_store.FairRedisLockStore"
# Rasa's SQL tracker store plus one snapshot row per conversation: a message reads its
# conversation in one row instead of replaying every event row (see its docstring).
SNAPSHOT_TRACKER_STORE = "rasa_addons.tracker_store.SnapshotSQLTrackerStore"


def tracker_store(url: str) -> dict[str, Any]:
    """Our SQL tracker store for a SQLAlchemy URL (sqlite:///path or postgresql://...)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"type": SNAPSHOT_TRACKER_STORE, "dialect": "sqlite", "db": parsed.database}
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"RASA_TRACKER_DB_URL must be sqlite:/// or postgresql:// (got {parsed.drivername})")
    store: dict[str, Any] = {
        "type": SNAPSHOT_TRACKER_STORE,
        "dialect": "postgresql",
        "url": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "db": parsed.database,
    }
    if parsed.username:
        store["username"] = parsed.username
    if parsed.password:
        store["password"] = parsed.password
    return store


def lock_store(redis_url: str | None) -> dict[str, Any]:
    """Redis (our fair lock store) for several Rasa servers; in memory for one."""
    if not redis_url:
        return {"type": "in_memory"}
    parsed = make_url(redis_url.replace("rediss://", "redis://", 1))
    store: dict[str, Any] = {
        "type": FAIR_REDIS_LOCK_STORE,
        "url": parsed.host or "127.0.0.1",
        "port": parsed.port or 6379,
        "db": int(parsed.database or 0),
        "key_prefix": REDIS_KEY_PREFIX,
        "use_ssl": redis_url.startswith("rediss://"),
    }
    if parsed.password:
        store["password"] = parsed.password
    return store


def endpoints(action_url: str, tracker_url: str, redis_url: str | None) -> dict[str, Any]:
    return {
        "action_endpoint": {"url": action_url},
        "tracker_store": tracker_store(tracker_url),
        "lock_store": lock_store(redis_url),
    }


def write_to(path: Path, action_url: str, tracker_url: str, redis_url: str | None) -> Path:
    """Write Rasa's endpoints file (mode 600: it may hold passwords)."""
    text = "# Written by bot/rasa_endpoints.py from the environment; edits are overwritten.\n"
    path.write_text(text + yaml.safe_dump(endpoints(action_url, tracker_url, redis_url), sort_keys=False))
    path.chmod(0o600)
    return path


def write(settings: Settings) -> Path:
    """The endpoints for these settings, in `data/endpoints.yml`."""
    tracker_url = settings.rasa_tracker_db_url or f"sqlite:///{settings.data_dir / 'rasa_tracker.db'}"
    return write_to(
        settings.data_dir / "endpoints.yml", settings.action_server_url, tracker_url, settings.redis_url
    )
