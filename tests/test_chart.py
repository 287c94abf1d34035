"""The chart of a case's reflections: a phone-sized PNG whose pixels show the data."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from bot import chart
from bot.chat import TerminalOutlet
from bot.chat import render as render_replies
from bot.db import Database
from bot.replies import Reply
from coach.reflection import elements
from storage.cases import CaseRepository
from storage.reflections import ReflectionRepository

KEYS = [e.key for e in elements()]
START = datetime(2026, 10, 2, 15, 0, tzinfo=UTC)


def history(*rows: list[int]) -> list[tuple[datetime, dict[str, int]]]:
    return [(START + timedelta(days=7 * i), dict(zip(KEYS, row, strict=True))) for i, row in enumerate(rows)]


def image(png: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(png))
    picture.load()
    return picture.convert("RGB")


def coloured_share(picture: Image.Image) -> float:
    """Share of pixels that are clearly coloured (lines, markers), not white, grey or black."""
    hsv = picture.convert("HSV")
    saturated = sum(1 for _, s, v in hsv.getdata() if s > 90 and v > 60)
    return saturated / (picture.width * picture.height)


def test_a_portrait_png_readable_on_a_phone() -> None:
    png = chart.render("cliënt A", history([4, 3, 2, 4, 3, 5], [3, 3, 3, 4, 4, 4], [2, 4, 4, 3, 5, 4]))
    assert png.startswith(b"\x89PNG")
    assert 20_000 < len(png) < 1_000_000  # detailed enough, small enough to send quickly
    picture = image(png)
    assert 900 <= picture.width <= 1280 and picture.height > picture.width  # portrait, within Telegram's size
    assert 0.005 < coloured_share(picture) < 0.3  # the lines are there, and it isn't a colour block
    assert len(picture.getcolors(maxcolors=1_000_000) or []) > 50  # text and lines, not a blank canvas


def test_different_scores_give_a_different_picture_where_the_lines_are() -> None:
    rising = image(chart.render("cliënt A", history([1] * 6, [3] * 6, [5] * 6)))
    falling = image(chart.render("cliënt A", history([5] * 6, [3] * 6, [1] * 6)))
    box = ImageChops.difference(rising, falling).getbbox()
    assert box is not None
    _, top, _, bottom = box
    # the difference is in the plot area (upper two thirds), not only in a title or legend
    assert bottom - top > rising.height * 0.3 and top < rising.height * 0.7


def test_one_element_more_shows_in_its_own_colour() -> None:
    base = [3, 3, 3, 3, 3, 3]
    same = image(chart.render("gezin B", history(base, base)))
    trust_up = image(chart.render("gezin B", history(base, [3, 3, 5, 3, 3, 3])))
    assert ImageChops.difference(same, trust_up).getbbox() is not None


def test_a_single_reflection_still_draws() -> None:
    picture = image(chart.render("cliënt A", history([4, 4, 4, 4, 4, 4])))
    assert coloured_share(picture) > 0.001


def test_nothing_to_draw() -> None:
    with pytest.raises(ValueError):
        chart.render("cliënt A", [])


def test_for_case_reads_the_owner_s_reflections_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    case = CaseRepository(owner="worker-1", url=url).create("cliënt A")
    ReflectionRepository(owner="worker-1", url=url).add(case.id, dict.fromkeys(KEYS, 4), None)
    db = Database(url)
    try:
        png = chart.for_case(db, "worker-1", case.id)
        assert png is not None and image(png).width >= 900
        assert chart.for_case(db, "worker-2", case.id) is None
        assert chart.for_case(db, "worker-1", case.id + 1) is None
    finally:
        db.dispose()


async def test_the_local_chat_saves_the_chart_as_a_png_and_prints_its_path(tmp_path: Path) -> None:
    png = chart.render("cliënt A", history([4, 3, 2, 4, 3, 5]))
    outlet = TerminalOutlet(tmp_path)
    await outlet.send(None, Reply("Zo ontwikkelt de werkrelatie zich.", photo=png))  # type: ignore[arg-type]
    printed, _ = render_replies(outlet.take())
    [saved] = tmp_path.glob("verloop-*.png")
    assert saved.read_bytes() == png and str(saved) in printed
    assert printed.startswith("Zo ontwikkelt de werkrelatie zich.")
