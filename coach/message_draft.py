"""Draft a short first message (app/SMS) to a client from the worker's answers.

The answers come from the guided flow "bericht" (coach/content/flows.yml): the worker's role,
the reason, a fact, what is fixed, what the client decides, something positive and a proposed
moment. The message follows the first-contact guidelines: the reason first, facts without
reproach, clear about what is and isn't negotiable, a good-news element, the client's own say,
and a concrete moment with room to decline. Three tones (neutral "u", formal "u", personal
"je"); every draft is checked by coach/message_check.py, and whatever the worker's own words
still trip is explained. Names and other personal details never appear: the answers are
scrubbed and the client is not named. The phrases live in coach/content/berichtcoach.yml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from coach import content, message_check
from coach.message_check import Finding, replace_phrases
from coach.nlp import dutch
from coach.scrubber import scrub
from coach.sections import source_line

TONES = ("neutraal", "formeel", "persoonlijk")
PARTS = ("role", "reason", "fact", "fixed", "open", "positive", "moment")
ANSWER_KEYS = {  # part -> the answer key in the flow
    "role": "rol",
    "reason": "aanleiding",
    "fact": "feiten",
    "fixed": "vast",
    "open": "open",
    "positive": "positief",
    "moment": "moment",
}
LOCAL_TIME = ZoneInfo("Europe/Amsterdam")


def _data() -> dict[str, Any]:
    return message_check.data()


def flow_id() -> str:
    """The guided flow whose answers a draft is made from."""
    return str(_data()["draft"]["flow"])


@dataclass(frozen=True)
class Draft:
    tone: str
    label: str
    text: str
    findings: tuple[Finding, ...]  # what the checker still finds (from the worker's own words)


# --- cleaning the worker's answers ----------------------------------------------------------


@cache
def _vocabulary() -> frozenset[str]:
    table = dutch().get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return frozenset(table.keys())


def _clean(answer: str | None, pronoun: str) -> str:
    """The answer without personal details or end punctuation, in the tone's pronoun."""
    text = scrub(answer or "").text
    text = message_check.PLACEHOLDER.sub("", text)
    text = re.sub(r"\s+", " ", text).strip(" \t\n.,;:!")
    if not re.search(r"[^\W\d_]", text):
        return ""
    if pronoun == "je":
        for pattern, replacement in _data()["draft"]["to_je_verbs"]:
            text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    pairs = _data()["draft"]["to_u" if pronoun == "u" else "to_je"]
    text = replace_phrases(text, pairs)
    if pronoun == "u":
        text = _je_to_u(text)
    first = text.split(" ", 1)[0]
    if first[1:] == first[1:].lower() and first.lower() in _vocabulary():
        text = text[0].lower() + text[1:]  # "De huur" inside a sentence: "de huur"
    return text


def _je_to_u(text: str) -> str:
    """The "je" that to_u left: "u" as object ("ik zie je morgen"), else "uw" ("je kat")."""
    doc = dutch().make_doc(text)
    as_u = set(_data()["draft"]["je_as_u_before"])
    words = [t.text_with_ws for t in doc]
    for token in doc:
        if token.lower_ != "je":
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        word = "u" if following is None or following.is_punct or following.lower_ in as_u else "uw"
        words[token.i] = (word if token.text.islower() else word.capitalize()) + token.whitespace_
    return "".join(words)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _has_positive(text: str) -> bool:
    return not any(f.kind == message_check.NO_POSITIVE for f in message_check.find(text))


def _has_moment(text: str) -> bool:
    return not any(f.kind == message_check.NO_NEXT_STEP for f in message_check.find(text))


# --- composing ------------------------------------------------------------------------------


def _parts(answers: Mapping[str, str], tone: str) -> dict[str, str]:
    spec = _data()["draft"]["tones"][tone]
    given = {part: _clean(answers.get(key), spec["pronoun"]) for part, key in ANSWER_KEYS.items()}
    parts: dict[str, str] = {}
    if given["role"]:
        role = given["role"]
        if role.split(" ", 1)[0].lower() in _data()["draft"]["role_needs_someone"]:
            role = f"iemand {role}"
        parts["role"] = spec["role"].format(role=role)
    if given["reason"]:
        reason = given["reason"]
        if reason.split(" ", 1)[0].lower() in {"omdat", "dat", "want"}:
            frame = spec["reason"].replace(" over {reason}", " omdat {reason}")
            reason = reason.split(" ", 1)[1] if " " in reason else ""
            parts["reason"] = frame.format(reason=reason) if reason else ""
        else:
            parts["reason"] = spec["reason"].format(reason=reason)
    parts["fact"] = _sentence(given["fact"])
    if given["fixed"]:
        parts["fixed"] = spec["fixed"].format(fixed=given["fixed"])
    if given["open"]:
        parts["open"] = spec["open"].format(open=given["open"])
    if given["positive"]:
        positive = given["positive"]
        plain = _sentence(positive)
        framed = spec["positive_frame"].format(positive=positive)
        parts["positive"] = plain if _has_positive(plain) else framed
    else:  # a realistic good-news element all the same: the worker's offer to think along
        parts["positive"] = spec["no_positive"]
    moment = given["moment"]
    if moment and _has_moment(moment):
        parts["moment"] = spec["moment"].format(moment=moment)
    else:
        parts["moment"] = spec["no_moment"]
    return {part: text for part, text in parts.items() if text}


def _assemble(spec: Mapping[str, Any], parts: Mapping[str, str], closing: bool) -> str:
    body = " ".join(parts[p] for p in PARTS if p in parts)
    lines = [spec["greeting"], body]
    if closing:
        lines.append(spec["closing"])
    return "\n".join(lines)


def compose(answers: Mapping[str, str], tone: str = "neutraal") -> str:
    """The message in one tone; parts are left out (drop_order) until it fits a phone screen."""
    spec = _data()["draft"]["tones"][tone]
    parts = _parts(answers, tone)
    closing = True
    text = _assemble(spec, parts, closing)
    for part in _data()["draft"]["drop_order"]:
        if len(text) <= message_check.max_chars():
            break
        if part == "closing":
            closing = False
        else:
            parts.pop(part, None)
        text = _assemble(spec, parts, closing)
    return text


def drafts(answers: Mapping[str, str]) -> tuple[Draft, ...]:
    """The proposal and its two alternative tones, each with what the checker still finds."""
    result = []
    for tone in TONES:
        text = compose(answers, tone)
        label = _data()["draft"]["tones"][tone]["label"]
        result.append(Draft(tone, label, text, tuple(message_check.find(text))))
    return tuple(result)


# --- timing -----------------------------------------------------------------------------------


def timing_advice(moment: str | None = None, now: datetime | None = None) -> str:
    """When to send (and when not), from the content; with a warning for this moment and now."""
    spec = _data()["timing"]
    lines = [spec["title"], *(f"• {item}" for item in spec["items"])]
    warnings = []
    words = set(re.findall(r"[\wé]+", (moment or "").lower()))
    text = (moment or "").lower()
    if any(w in words or (" " in w and w in text) for w in spec["last_minute_words"]):
        warnings.append(spec["last_minute"].format(moment=(moment or "").strip()))
    if now is not None:
        local = now.astimezone(LOCAL_TIME)
        quiet = spec["quiet_hours"]
        if local.hour >= quiet["start"] or local.hour < quiet["end"] or local.weekday() in spec["quiet_days"]:
            warnings.append(spec["now_quiet"].format(time=local.strftime("%H:%M")))
    if warnings:
        lines += ["", *(f"⚠️ {w}" for w in warnings)]
    lines += ["", source_line(content.source_title(spec["source"]))]
    return "\n".join(lines)


def never_sends() -> str:
    return str(_data()["timing"]["never_sends"])


# --- rendering ------------------------------------------------------------------------------


def render(answers: Mapping[str, str], now: datetime | None = None) -> list[str]:
    """The drafts as chat messages (each easy to copy), then notes and timing advice."""
    t = message_check.texts()
    made = drafts(answers)
    main, *alternatives = made
    messages = [t["drafts_intro"], main.text]
    messages += [f"{d.label}:\n\n{d.text}" for d in alternatives]
    notes: list[str] = []
    findings = list(dict.fromkeys(f for d in made for f in d.findings))
    if findings:
        notes += [t["drafts_notes"], *message_check.feedback_lines(findings), ""]
    if any(scrub(answers.get(key) or "").found for key in ANSWER_KEYS.values()):
        notes += [t["removed_details"], ""]
    notes += [timing_advice(answers.get("moment"), now), "", never_sends(), t["edit_hint"]]
    messages.append("\n".join(notes))
    return messages
