"""Lock-store scenarios, run inside Rasa's environment (tests/test_lock_store.py starts them):
`python -m tests.lock_scenarios SCENARIO REDIS_HOST REDIS_PORT CONVERSATION [STORE]`.
Prints one JSON object with what happened. STORE is `fair` (ours, default) or `stock` (Rasa's).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_addons.lock_store import FairRedisLockStore


def _store(kind: str, host: str, port: int) -> Any:
    if kind == "stock":
        return RedisLockStore(host=host, port=port, db=0, key_prefix="deuropenertest")
    return FairRedisLockStore(EndpointConfig(url=host, port=port, db=0, key_prefix="deuropenertest"))


async def turns(store: Any, conversation: str, requests: int, hold: float) -> dict[str, Any]:
    """`requests` requests at once, each holding the lock `hold` seconds: who was inside when."""
    spans: list[tuple[float, float]] = []

    async def one() -> None:
        async with store.lock(conversation, lock_lifetime=1):
            entered = time.time()
            await asyncio.sleep(hold)
            spans.append((entered, time.time()))

    await asyncio.gather(*(one() for _ in range(requests)))
    return {"spans": spans}


async def dead_holder(store: Any, conversation: str) -> dict[str, Any]:
    """A server took a ticket and died; the next request's event loop is busy past both
    tickets' lifetime (a loaded machine). How long until the next request is served?"""
    store.issue_ticket(conversation, 1.0)  # never cleaned up: its server is gone
    started = time.time()

    async def blocked_then_waiting() -> None:
        async with store.lock(conversation, lock_lifetime=1.0):
            pass

    task = asyncio.ensure_future(blocked_then_waiting())
    await asyncio.sleep(0)  # the request takes its ticket ...
    time.sleep(2.5)  # ... then the event loop is busy (TensorFlow) past both lifetimes
    try:
        await asyncio.wait_for(task, timeout=8)
        return {"served_after": time.time() - started}
    except TimeoutError:
        return {"served_after": None}


async def main() -> None:
    scenario, host, port, conversation = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = _store(sys.argv[5] if len(sys.argv) > 5 else "fair", host, port)
    if scenario == "turns":
        result = await turns(store, conversation, requests=6, hold=0.1)
    elif scenario == "slow":  # each holds the lock 2.5 s, well past its 1 s lifetime
        result = await turns(store, conversation, requests=2, hold=2.5)
    else:
        result = await dead_holder(store, conversation)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
