"""The reflection on Telegram, end to end: the real bot against the fake Bot API, the real Rasa
and action server. A worker with two open cases reflects on both in turn, sees the drop
warning for the one that slid twice, and gets the chart as a photo (button and /verloop).

The bot shares the application database (and the session's data key) with the action server
here, as in production (`make run`): the action server stores the reflections, the bot draws the chart.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from coach.reflection import elements
from storage.cases import CaseRepository
from storage.reflections import ReflectionRepository
from tests.bot_harness import TelegramUser, buttons_of, make_settings, running_bot
from tests.fake_bot_api import ApiCall, FakeBotApi
from tests.rasa_stack import RasaStack

pytestmark = pytest.mark.integration

KEYS = [e.key for e in elements()]


@pytest_asyncio.fixture
async def worker(tmp_path: Path, api: FakeBotApi, rasa_stack: RasaStack) -> AsyncIterator[TelegramUser]:
    """A registered worker, on the database and data keys the action server uses."""
    settings = make_settings(tmp_path, api, rasa_stack, database_url=rasa_stack.database_url)
    async with running_bot(settings, api) as telegram_user:
        await telegram_user.register()
        yield telegram_user


def photo_of(call: ApiCall) -> Image.Image:
    upload = call.params["photo"]
    assert isinstance(upload, dict), "the chart is uploaded as a file, not sent as a URL"
    picture = Image.open(io.BytesIO(upload["data"]))
    picture.load()
    return picture


async def reflect(worker: TelegramUser, asked: ApiCall, label: str, values: list[int]) -> ApiCall:
    """Tap a score for each question about `label`; returns the note question."""
    for number, value in enumerate(values, start=1):
        assert f"{label} · vraag {number} van 6" in asked.params["text"]
        title = next(t for t in buttons_of(asked) if t.startswith(str(value)))
        mark = await worker.tap_title(asked, title)
        following = f"{label} · vraag {number + 1} van 6" if number < 6 else "notitie"
        asked = await worker.answer_with(following, after=mark)
    return asked


async def test_two_cases_in_turn_the_intervision_suggestion_and_the_chart_as_a_photo(
    worker: TelegramUser, api: FakeBotApi
) -> None:
    url = worker.settings.database_url
    owner = worker.pseudonym
    cases = CaseRepository(owner=owner, url=url)
    first, second = cases.create("cliënt A"), cases.create("gezin B")
    earlier = ReflectionRepository(owner=owner, url=url)
    now = datetime.now(UTC)
    earlier.add(second.id, dict.fromkeys(KEYS, 5), None, at=now - timedelta(days=14))
    earlier.add(second.id, dict.fromkeys(KEYS, 4), None, at=now - timedelta(days=7))

    mark = await worker.send("ik wil reflecteren")
    pick = await worker.answer_with("Over welke cliënt wil je reflecteren?", after=mark)
    mark = await worker.tap_title(pick, "Alle open cliënten na elkaar")
    asked = await worker.answer_with("vraag 1 van 6", after=mark)
    assert "We lopen je 2 open cliënten na elkaar langs" in worker.texts(mark)
    order = (
        ["gezin B", "cliënt A"] if "gezin B · vraag 1" in asked.params["text"] else ["cliënt A", "gezin B"]
    )
    values = {"cliënt A": [4, 4, 3, 4, 4, 4], "gezin B": [3, 3, 2, 3, 3, 3]}

    note = await reflect(worker, asked, order[0], values[order[0]])
    mark = await worker.tap_title(note, "Overslaan")
    asked = await worker.answer_with(f"{order[1]} · vraag 1 van 6", after=mark)
    outcomes = worker.texts(mark)
    note = await reflect(worker, asked, order[1], values[order[1]])
    mark = await worker.send("goed gesprek gehad, ze belde zelf")
    final = await worker.answer_with("Bewaard: je reflectie op " + order[1], after=mark)
    outcomes += worker.texts(mark)

    assert "Bewaard: je reflectie op cliënt A" in outcomes and "Bewaard: je reflectie op gezin B" in outcomes
    assert "De werkrelatie met gezin B is twee keer op rij gedaald" in outcomes and "intervisie" in outcomes
    assert "De werkrelatie met cliënt A is twee keer" not in outcomes
    assert "Nut bewijzen" in outcomes  # trust scored lowest for both: the practical-service tip
    assert [len(ReflectionRepository(owner=owner, url=url).history(c.id)) for c in (first, second)] == [1, 3]

    mark = await worker.tap_title(final, "Verloop gezin B")
    [photo_call] = await api.async_wait_for("sendPhoto", after=mark)
    caption = await worker.answer_with(
        "Zo ontwikkelt de werkrelatie met gezin B zich (3 reflecties)", after=mark
    )
    assert photo_call.index < caption.index  # the chart first, then what it shows
    picture = photo_of(photo_call)
    assert picture.format == "PNG" and 900 <= picture.width <= 1280 and picture.height > picture.width

    mark = await worker.send("/verloop")
    choose = await worker.answer_with("Van welke cliënt wil je het verloop zien?", after=mark)
    mark = await worker.tap_title(choose, "cliënt A")
    [other_call] = await api.async_wait_for("sendPhoto", after=mark)
    assert photo_of(other_call).tobytes() != picture.tobytes()
    await worker.answer_with("de werkrelatie met cliënt A zich (1 reflectie)", after=mark)

    charts = [m for m in worker.transcript() if m.direction == "out" and m.image]
    assert [m.image for m in charts] == [f"chart:{second.id}", f"chart:{first.id}"]
    assert all(m.status == "sent" for m in charts)
