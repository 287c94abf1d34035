"""Load the guideline content (coach/content/*.yml) once; every answer renders from here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTENT_DIR = Path(__file__).parent / "content"


@cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed content file `coach/content/<name>.yml`."""
    with (CONTENT_DIR / f"{name}.yml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def source_title(source_key: str) -> str:
    """The full title of a source document, e.g. 'Schema voortraject, ...'."""
    return load("sources")[source_key]["title"]


@dataclass(frozen=True)
class Strategy:
    key: str
    name: str
    fits_when: str
    means: tuple[str, ...]
    watch: tuple[str, ...]
    source: str  # full title of the source document


@cache
def strategies() -> dict[str, Strategy]:
    """The five contact strategies, keyed by their canonical id, in the source's order."""
    data = load("strategies")
    source = source_title(data["source"])
    return {
        key: Strategy(
            key=key,
            name=item["name"],
            fits_when=item["fits_when"],
            means=tuple(item["means"]),
            watch=tuple(item["watch"]),
            source=source,
        )
        for key, item in data["strategies"].items()
    }
