"""Content sections ("file.section" in coach/content) and how they read on a phone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from coach import content


@dataclass(frozen=True)
class Item:
    text: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    ref: str  # "file.section"
    title: str
    items: tuple[Item, ...]
    numbered: bool
    intro: str
    note: str
    source: str  # full title of the source document


@cache
def section(ref: str) -> Section:
    """Load one section, e.g. section("voortraject.signalen_verzamelen")."""
    file, key = ref.split(".", 1)
    data = content.load(file)
    spec = data["sections"][key]
    items = tuple(
        Item(raw) if isinstance(raw, str) else Item(raw["text"], tuple(raw.get("details", ())))
        for raw in spec.get("items", ())
    )
    return Section(
        ref=ref,
        title=spec["title"],
        items=items,
        numbered=bool(spec.get("numbered")),
        intro=spec.get("intro", ""),
        note=spec.get("note", ""),
        source=content.source_title(spec.get("source", data["source"])),
    )


def bullet_lines(sec: Section, start: int = 0, stop: int | None = None) -> str:
    """The section's items (numbered or bulleted, with details) from `start` to `stop`."""
    lines: list[str] = []
    for index, item in enumerate(sec.items[start:stop], start=start + 1):
        mark = f"{index}." if sec.numbered else "•"
        lines.append(f"{mark} {item.text}")
        lines.extend(f"   – {detail}" for detail in item.details)
    return "\n".join(lines)


def source_line(*titles: str) -> str:
    """One short line naming the source document(s)."""
    return "Bron: " + "; ".join(titles)


def render(ref: str, start: int = 0, stop: int | None = None, with_source: bool = True) -> str:
    """A section as one short message: title, intro, items, note and source."""
    sec = section(ref)
    parts = [sec.title]
    if sec.intro and start == 0:
        parts.append(sec.intro)
    parts.append(bullet_lines(sec, start, stop))
    last = stop is None or stop >= len(sec.items)
    if sec.note and last:
        parts.append(sec.note)
    if with_source:
        parts.append(source_line(sec.source))
    return "\n\n".join(part for part in parts if part)
