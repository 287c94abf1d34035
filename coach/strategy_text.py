"""Dutch texts for the strategy choice, rendered from the content (short, for phones)."""

from __future__ import annotations

from coach import content
from coach.sections import source_line
from coach.strategy import NoClearFit, Question, Recommendation

QUESTION = "Wat past het best bij je cliënt? Kies wat het meest klopt."
NONE_OPTION = "Geen van deze"


def _bullets(lines: tuple[str, ...]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def explain(strategy_key: str, heading: str = "", note: str = "") -> str:
    """A strategy in full: when it fits, what it means, what to watch for, and the source."""
    s = content.strategies()[strategy_key]
    parts = [
        f"{heading or s.name}\nPast als: {s.fits_when}",
        f"Wat houdt het in?\n{_bullets(s.means)}" if s.means else "",
        f"Let op:\n{_bullets(s.watch)}" if s.watch else "",
        note,
        source_line(s.source),
    ]
    return "\n\n".join(part for part in parts if part)


def recommendation(rec: Recommendation) -> str:
    strategies = content.strategies()
    note = ""
    if rec.also_fits:
        note = "Past misschien ook: " + ", ".join(strategies[key].name for key in rec.also_fits) + "."
    return explain(rec.strategy, heading=f"Mijn voorstel: {strategies[rec.strategy].name}", note=note)


def no_clear_fit() -> str:
    title = content.source_title(content.load("strategies")["source"])
    return (
        "Geen van de vijf strategieën past duidelijk bij deze situatie. "
        "Bespreek je cliënt met je team of in intervisie. "
        "Leg in elk geval vooraf vast met welke vraag of opdracht je contact legt.\n\n"
        f"{source_line(title)}"
    )


def describe(decision: Recommendation | Question | NoClearFit) -> str:
    if isinstance(decision, Recommendation):
        return recommendation(decision)
    if isinstance(decision, Question):
        return QUESTION
    return no_clear_fit()
