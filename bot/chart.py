"""The chart of a case's reflections: each element's score over time, as a PNG for a phone.

Matplotlib's object API with the Agg canvas (no pyplot, no display, safe in a worker thread).
Portrait, large fonts, Dutch labels, dates on the x-axis, 1-5 on the y-axis, a legend under
the plot. Lines of equal scores would hide each other, so each element is nudged a little up
or down; the thick dashed line is the average.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.db import Database
from coach.reflection import HIGH, LOW, average, elements
from storage.reflections import ReflectionRepository

TIMEZONE = ZoneInfo("Europe/Amsterdam")
SIZE_INCHES = (7.2, 9.6)  # portrait: 1080 x 1440 px at 150 dpi
DPI = 150
OFFSET = 0.06  # vertical nudge between elements, so equal scores stay visible
COLOURS = ("#1b6ca8", "#e07b00", "#2e9e44", "#c0392b", "#7d4fb0", "#8c564b")
MARKERS = ("o", "s", "^", "D", "v", "P")
MAX_DATE_TICKS = 5

Point = tuple[datetime, Mapping[str, int]]


def render(label: str, history: Sequence[Point]) -> bytes:
    """PNG bytes: the scores per element of `history` (oldest first) for the case `label`."""
    if not history:
        raise ValueError("no reflections to draw")
    times = [when.astimezone(TIMEZONE) for when, _ in history]
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.13, 0.27, 0.82, 0.62))
    shown = elements()
    middle = (len(shown) - 1) / 2
    for index, element in enumerate(shown):
        points = [(t, s[element.key]) for t, (_, s) in zip(times, history, strict=True) if element.key in s]
        if not points:
            continue
        nudge = (index - middle) * OFFSET
        axes.plot(
            [t for t, _ in points],
            [v + nudge for _, v in points],
            color=COLOURS[index % len(COLOURS)],
            marker=MARKERS[index % len(MARKERS)],
            markersize=9,
            linewidth=2.5,
            label=element.label,
        )
    axes.plot(
        times,
        [average(dict(s)) for _, s in history],
        color="#222222",
        linestyle="--",
        linewidth=3.5,
        marker="o",
        markersize=7,
        label="Gemiddeld",
    )
    axes.set_ylim(LOW - 0.4, HIGH + 0.4)
    axes.set_yticks(range(LOW, HIGH + 1))
    axes.set_ylabel("score (1 = laag, 5 = hoog)", fontsize=16)
    axes.tick_params(axis="both", labelsize=15)
    axes.grid(True, axis="y", alpha=0.3)
    if len(times) == 1:  # one reflection: give the single date some room
        axes.set_xlim(times[0] - timedelta(days=3), times[0] + timedelta(days=3))
    if len(times) <= MAX_DATE_TICKS:  # few reflections: a date under each one
        axes.set_xticks(times)
    else:
        axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=MAX_DATE_TICKS, tz=TIMEZONE))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%d-%m", tz=TIMEZONE))
    figure.suptitle(f"Werkrelatie met {label}", fontsize=22, fontweight="bold", y=0.97)
    axes.set_title(f"{len(history)} reflectie{'s' if len(history) != 1 else ''}", fontsize=15)
    figure.legend(
        loc="lower center",
        ncol=2,
        fontsize=15,
        frameon=False,
        bbox_to_anchor=(0.5, 0.02),
        handlelength=2.5,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def for_case(db: Database, owner: str, case_id: int) -> bytes | None:
    """The chart of one of `owner`'s cases, from the database; None if there is nothing to draw."""
    repository = ReflectionRepository(owner, db=db)
    label = repository.label(case_id)
    history = repository.history(case_id) if label is not None else []
    if not history:
        return None
    return render(label or "", [(r.created_at, r.scores) for r in history])
