"""Fuzz messages for the bad-input test (issue 5), and `make fuzz` (results/fuzz-report.md).

`messages(n, seed)` makes `n` seeded messages of the kinds a Telegram user can send a bot:
random Unicode from every plane, emoji sequences, right-to-left text with bidi controls,
control characters (NUL included), texts of exactly 4,096 UTF-16 units (Telegram's limit),
Markdown and HTML fragments, and ordinary worker messages (with names, phone numbers, crisis
words) mixed with all of these. What the Bot API cannot deliver is left out: lone surrogates
(its JSON is valid UTF-8), empty texts and texts over 4,096 UTF-16 units.

`check_in_process(text)` runs one message through what the bot does before and after Rasa,
in-process: scrubbing (coach/scrubber.py), the input check (coach/input_check.py), the crisis
detector, the bot's own answers that quote the message, and rendering for Telegram
(bot/telegram_render.py). It returns the problems found (none is the goal).

`make fuzz` runs tests/test_fuzz.py with the full numbers (all messages through Rasa's
`/model/parse`, a few hundred through the whole bot) and writes the report:

    python scripts/fuzz_report.py [--messages 10000] [--bot-messages 300] [--out results/fuzz-report.md]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "results" / "fuzz-report.md"
SEED = 20261130
TELEGRAM_MAX = 4096  # UTF-16 code units, as Telegram counts

# Ordinary worker messages to mix with the noise: details for the scrubber, crisis words.
WORKER_TEXTS = (
    "mevrouw is erg wantrouwig en doet de deur niet open",
    "meneer Jansen belt steeds vanaf 06-12345678, wat moet ik doen?",
    "cliënt A woont op de Dorpsstraat 12, 1234 AB Utrecht",
    "welke signalen van kindermishandeling zijn er?",
    "ze zei dat ze er niet meer wil zijn",
    "hij staat met een mes in de gang",
    "wat houdt quid pro quo in?",
    "mijn BSN-nummer is 111222333 en IBAN NL91ABNA0417164300",
    "de moeder van Sanne de Vries wil geen hulp",
    "hoi",
    "menu",
    "bedankt!",
    "ik word gek van dit dossier",
    "mail me op test.persoon@example.nl",
    "geboren op 12-03-1954",
)
MARKDOWN = (
    "*vet*",
    "_schuin_",
    "__onderstreept__",
    "~doorgestreept~",
    "||spoiler||",
    "`code`",
    "```\npre\n```",
    "```python\nprint(1)\n```",
    "[link](http://example.com)",
    "[x](tg://user?id=1)",
    "\\*ontsnapt\\*",
    "*niet gesloten",
    "_",
    "**",
    "> citaat",
    "# kop",
    "- lijst",
    "1. lijst",
    "![img](x)",
    "\\",
    "`",
    "```",
    "[",
    "](",
)
HTML = (
    "<b>vet</b>",
    "<i>",
    "</b>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="tg://user?id=1">x</a>',
    "<pre><code class='language-python'>x</code></pre>",
    "&amp;",
    "&lt;",
    "&",
    "&#x1F600;",
    "&nbsp;",
    "<",
    ">",
    "<<>>",
    "<br>",
    "<tg-spoiler>s</tg-spoiler>",
    '<span class="tg-spoiler">s</span>',
    "<!-- c -->",
    "<![CDATA[x]]>",
    "<blockquote expandable>q</blockquote>",
    "<img src=x onerror=alert(1)>",
)
INJECTION = (
    "/start",
    "/start abc",
    "/",
    "//",
    "/unknown_command",
    "/ask_strategy",
    '/ask_strategy{"x": 1}',
    "[naam]",
    "[telefoon]",
    "{{ slot }}",
    "{name}",
    "%s %d %(x)s",
    "${jndi:ldap://x}",
    "'; DROP TABLE messages; --",
    '{"text": "x"}',
    "null",
    "None",
    "\\u0000",
    "../../etc/passwd",
)
EMOJI = (
    "😀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇳🇱",
    "❤️",
    "🫠",
    "🧑🏿‍⚕️",
    "🔪",
    "💊",
    "1️⃣",
    "©",
    "🀄",
    "𝕳𝖊𝖑𝖑𝖔",
)
RTL = (
    "مرحبا كيف حالك",
    "שלום, מה שלומך?",
    "سلام",
    "ܫܠܡܐ",
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2067",  # RIGHT-TO-LEFT ISOLATE
    "\u202b",  # RIGHT-TO-LEFT EMBEDDING
    "\u202c",  # POP DIRECTIONAL FORMATTING
    "\u2069",  # POP DIRECTIONAL ISOLATE
)
CONTROL = (
    *(chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))),
    "\u200b",  # zero width space
    "\u200c",
    "\u200d",
    "\u2028",  # line separator
    "\u2029",
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u034f",  # combining grapheme joiner
    "\ufff9",
    "\ufffc",
    "\ufffd",
)
COMBINING = tuple(chr(c) for c in range(0x300, 0x370))
ODD_DIGITS = ("１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "۱۲۳", "߀߁", "𝟏𝟐𝟑", "¹²³", "Ⅻ", "½")
WHITESPACE = (" ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u200a")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def deliverable(text: str) -> bool:
    """Whether the Bot API can hand this text to a bot: valid Unicode, 1 to 4,096 units."""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return False
    return 0 < utf16_len(text) <= TELEGRAM_MAX and bool(text.strip())


def _random_char(rng: random.Random) -> str:
    """A code point from anywhere in Unicode (any plane), never a surrogate."""
    while True:
        plane = rng.choice((0, 0, 0, 1, 1, 2, 14, 15))
        code = plane * 0x10000 + rng.randrange(0x10000)
        if not 0xD800 <= code <= 0xDFFF:
            return chr(code)


def _random_text(rng: random.Random, length: int) -> str:
    return "".join(_random_char(rng) for _ in range(length))


def _fit(text: str, limit: int = TELEGRAM_MAX) -> str:
    """Cut `text` to at most `limit` UTF-16 units (never inside a character)."""
    while utf16_len(text) > limit:
        text = text[: -max(1, (utf16_len(text) - limit) // 2)]
    return text


def _to_exactly(rng: random.Random, pieces: tuple[str, ...], limit: int = TELEGRAM_MAX) -> str:
    """A text of exactly `limit` UTF-16 units made of `pieces`, topped up with letters."""
    parts, size = [], 0
    while size < limit:
        piece = rng.choice(pieces)
        if size + utf16_len(piece) > limit:
            piece = "a" * (limit - size)
        parts.append(piece)
        size += utf16_len(piece)
    return "".join(parts)


def _mix(rng: random.Random, *pools: tuple[str, ...], count: int | None = None) -> str:
    count = count or rng.randint(1, 12)
    sep = rng.choice(("", " ", " ", "\n"))
    return sep.join(rng.choice(rng.choice(pools)) for _ in range(count))


def _zalgo(rng: random.Random, text: str) -> str:
    return "".join(ch + "".join(rng.choice(COMBINING) for _ in range(rng.randint(0, 6))) for ch in text)


def _sprinkle(rng: random.Random, text: str, pool: tuple[str, ...], rate: float = 0.2) -> str:
    out = []
    for ch in text:
        out.append(ch)
        if rng.random() < rate:
            out.append(rng.choice(pool))
    return "".join(out)


# Each generator makes one message of a kind; `messages` cycles through them.
def _gen_unicode(rng: random.Random) -> str:
    return _random_text(rng, rng.choice((1, 2, 5, 20, 80, 300)))


def _gen_emoji(rng: random.Random) -> str:
    return _mix(rng, EMOJI, count=rng.randint(1, 30))


def _gen_rtl(rng: random.Random) -> str:
    return _mix(rng, RTL, WORKER_TEXTS, EMOJI)


def _gen_control(rng: random.Random) -> str:
    base = rng.choice(WORKER_TEXTS)
    return _sprinkle(rng, base, CONTROL, rate=rng.choice((0.05, 0.3, 1.0)))


def _gen_nul(rng: random.Random) -> str:
    return rng.choice(("\x00", "a\x00b", "hoi\x00", "\x00" * rng.randint(1, 50) + "x")) + rng.choice(
        ("", " hij staat met een mes in de gang")
    )


def _gen_long(rng: random.Random) -> str:
    pools = (
        WORKER_TEXTS + WHITESPACE,
        EMOJI,
        RTL,
        MARKDOWN + HTML,
        ("a",),
        ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"),
        tuple(_random_text(rng, 5) for _ in range(20)),
        ("ä", "é", "ë", "ß", "ĳ"),
        ("06-", "12345678 ", "NL91ABNA0417164300 ", "1234 AB "),
    )
    return _to_exactly(
        rng, rng.choice(pools), rng.choice((TELEGRAM_MAX, TELEGRAM_MAX, TELEGRAM_MAX - 1, 2001))
    )


def _gen_markdown(rng: random.Random) -> str:
    return _mix(rng, MARKDOWN, WORKER_TEXTS)


def _gen_html(rng: random.Random) -> str:
    return _mix(rng, HTML, WORKER_TEXTS)


def _gen_injection(rng: random.Random) -> str:
    return _mix(rng, INJECTION, WORKER_TEXTS, count=rng.randint(1, 3))


def _gen_worker(rng: random.Random) -> str:
    text = rng.choice(WORKER_TEXTS)
    change = rng.choice(("upper", "zalgo", "digits", "space", "emoji", "none", "repeat"))
    if change == "upper":
        return text.upper()
    if change == "zalgo":
        return _zalgo(rng, text)
    if change == "digits":
        return text + " " + rng.choice(ODD_DIGITS) * rng.randint(1, 4)
    if change == "space":
        return _sprinkle(rng, text, WHITESPACE, 0.3)
    if change == "emoji":
        return _sprinkle(rng, text, EMOJI, 0.1)
    if change == "repeat":
        return _fit(" ".join([text] * rng.randint(2, 400)))
    return text


def _gen_whitespace(rng: random.Random) -> str:
    return _mix(rng, WHITESPACE, CONTROL, count=rng.randint(1, 40)) + rng.choice(("", ".", "?", "a"))


def _gen_one_word(rng: random.Random) -> str:
    word = rng.choice(("a", "x", "ë", "😀", "-", ".", "0", "٣"))
    return word * rng.randint(1, TELEGRAM_MAX // 2)


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "random unicode": _gen_unicode,
    "emoji": _gen_emoji,
    "right-to-left": _gen_rtl,
    "control characters": _gen_control,
    "NUL": _gen_nul,
    "4,096 units": _gen_long,
    "markdown": _gen_markdown,
    "html": _gen_html,
    "commands and injection": _gen_injection,
    "worker text, altered": _gen_worker,
    "whitespace and invisible": _gen_whitespace,
    "one long word": _gen_one_word,
}


def messages(n: int, seed: int = SEED) -> list[tuple[str, str]]:
    """`n` deliverable messages as (kind, text), the kinds in turn; the same for the same seed."""
    rng = random.Random(seed)
    kinds = list(GENERATORS)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        kind = kinds[len(out) % len(kinds)]
        text = _fit(GENERATORS[kind](rng))
        if deliverable(text):
            out.append((kind, text))
    return out


# --- checks ----------------------------------------------------------------------------------

TELEGRAM_HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
MARKDOWN_V2_SPECIAL = set("_*[]()~`>#+-=|{}.!\\")


class _StrictTelegramHtml(HTMLParser):
    """Telegram's HTML: only its tags, every tag closed in order, `<`, `>`, `&` escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_HTML_TAGS:
            self.errors.append(f"unsupported tag <{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.errors.append(f"unsupported entity &{name};")

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.errors.append("unescaped < or >")

    def unknown_decl(self, data: str) -> None:
        self.errors.append("declaration")

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment")


def formatting_errors(text: str, parse_mode: str | None) -> list[str]:
    """Why Telegram would refuse (or misread) `text` in this parse mode; [] when it is fine.

    Plain text (no parse mode) is shown as it is. HTML must use only Telegram's tags, closed
    in order, with `<`, `>` and a bare `&` escaped; MarkdownV2 must escape its special
    characters outside entities (checked strictly: this bot sends no Markdown entities).
    """
    if parse_mode is None:
        return []
    if parse_mode.upper() == "HTML":
        parser = _StrictTelegramHtml()
        parser.feed(text)
        parser.close()
        bare_amp = [i for i, ch in enumerate(text) if ch == "&" and not _entity_at(text, i)]
        return (
            parser.errors + (["unescaped &"] if bare_amp else []) + (["unclosed tags"] if parser.open else [])
        )
    if parse_mode.upper() == "MARKDOWNV2":
        escaped = False
        for ch in text:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch in MARKDOWN_V2_SPECIAL:
                return [f"unescaped {ch!r}"]
        return []
    return [f"parse mode {parse_mode} is deprecated or unknown"]


def _entity_at(text: str, i: int) -> bool:
    """Whether the `&` at `i` starts an entity Telegram knows (named, or numeric)."""
    end = text.find(";", i)
    if end == -1:
        return False
    name = text[i + 1 : end]
    return name in {"lt", "gt", "amp", "quot"} or (name[:1] == "#" and name[1:].lstrip("x").isalnum())


def part_errors(parts: list[str]) -> list[str]:
    """What Telegram would refuse about the parts of one rendered text."""
    errors = []
    for part in parts:
        if not part.strip():
            errors.append("empty part")
        if utf16_len(part) > TELEGRAM_MAX:
            errors.append(f"part of {utf16_len(part)} units")
        try:
            part.encode("utf-8")
        except UnicodeEncodeError:
            errors.append("not valid UTF-8 (a lone surrogate)")
    return errors


@dataclass
class Outcome:
    """What the in-process path did with one message."""

    answer: str  # "guard:<problem>", "crisis:<kind>" or "rasa" (goes on to Rasa)
    scrubbed: str
    problems: list[str] = field(default_factory=list)


def check_in_process(text: str) -> Outcome:
    """One message through scrubbing, the input check, the crisis detector and rendering."""
    from bot import texts
    from bot.replies import MENU_BUTTON, Reply
    from bot.telegram_render import keyboard, split_text
    from coach import crisis, input_check
    from coach.scrubber import scrub

    problems: list[str] = []
    try:
        scrubbed = scrub(input_check.without_controls(text)).text  # as Conversation.receive does
    except Exception as exc:  # a fuzz finding: reported
        return Outcome("crash", text, [f"scrub: {type(exc).__name__}: {exc}"])
    replies: list[Reply] = []
    try:
        problem = input_check.check(scrubbed)
        if problem is not None:
            answer = f"guard:{problem.value}"
            replies.append(Reply(input_check.ANSWERS[problem], (MENU_BUTTON,)))
        elif (kind := crisis.detect(scrubbed)) is not None:
            answer = f"crisis:{kind.value}"
            replies.append(Reply(crisis.answer(kind), (MENU_BUTTON,)))
        else:
            answer = "rasa"
    except Exception as exc:
        return Outcome("crash", scrubbed, [f"check/crisis: {type(exc).__name__}: {exc}"])
    # The bot's own texts that quote the worker's message (Rasa was away), and the message
    # itself as a reply: the worst case for rendering what a worker typed.
    replies += [
        Reply(texts.late_answer(texts.quote(scrubbed))),
        Reply(texts.not_processed(texts.quote(scrubbed)), (MENU_BUTTON,)),
        Reply(scrubbed),
    ]
    for reply in replies:
        try:
            parts = split_text(reply.text or "")
            keyboard(reply.buttons)
        except Exception as exc:
            problems.append(f"render: {type(exc).__name__}: {exc}")
            continue
        if reply.text and reply.text.strip() and not parts:
            problems.append("rendered to nothing")
        problems += part_errors(parts)
        if "".join("".join(parts).split()) != "".join((reply.text or "").split()):
            problems.append("rendering changed the words")
    return Outcome(answer, scrubbed, problems)


# --- the report --------------------------------------------------------------------------


@dataclass
class Figures:
    messages: int
    by_kind: dict[str, int]
    in_process_seconds: float
    in_process_problems: list[str]
    answers: dict[str, int]
    slowest: tuple[float, str]  # seconds, which message
    rasa_messages: int
    rasa_seconds: float
    rasa_concurrency: int
    rasa_errors: list[str]
    intents: Counter[str]
    bot_messages: int
    bot_workers: int
    bot_seconds: float
    bot_problems: list[str]
    sent_messages: int
    parse_modes: dict[str, int]


def write_report(out: Path, fig: Figures) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    problems = fig.in_process_problems + fig.rasa_errors + fig.bot_problems
    lines = [
        "# Fuzz report (bad input)",
        "",
        f"Written by `make fuzz` on {when}: {fig.messages:,} seeded messages (seed {SEED}, "
        "`scripts/fuzz_report.py`), only what the Telegram Bot API can deliver (valid Unicode, "
        f"1 to {TELEGRAM_MAX:,} UTF-16 units). Machine: {os.cpu_count()} CPU cores, shared.",
        "",
        "| kind | messages |",
        "|---|---|",
        *[f"| {kind} | {count:,} |" for kind, count in fig.by_kind.items()],
        "",
        "## In-process: scrubbing, input check, crisis detector, rendering",
        "",
        f"All {fig.messages:,} messages in {fig.in_process_seconds:.1f} s. Problems "
        f"(crashes, empty or over-long parts, words changed by rendering): "
        f"**{len(fig.in_process_problems)}**. Slowest message: {fig.slowest[0]:.2f} s "
        f"({fig.slowest[1]}).",
        "",
        "| what the bot does first | messages |",
        "|---|---|",
        *[f"| {answer} | {count:,} |" for answer, count in sorted(fig.answers.items())],
        "",
        "## Rasa NLU: `/model/parse`",
        "",
        f"{fig.rasa_messages:,} scrubbed messages (those the input check lets through) in "
        f"{fig.rasa_seconds:.1f} s, {fig.rasa_concurrency} at a time "
        f"({fig.rasa_messages / max(fig.rasa_seconds, 0.001):.0f} per second). Errors: "
        f"**{len(fig.rasa_errors)}**.",
        "",
        "| intent | messages |",
        "|---|---|",
        *[
            f"| {intent} | {count:,} |"
            for intent, count in sorted(fig.intents.items(), key=lambda kv: -kv[1])[:15]
        ],
        "",
        "## Whole path: fake Bot API → bot → Rasa → action server → reply",
        "",
        f"{fig.bot_messages:,} messages from {fig.bot_workers} registered workers typing at the same "
        f"time, in {fig.bot_seconds:.1f} s: "
        f"{fig.sent_messages:,} sendMessage calls. Messages without exactly one answered turn, "
        f"failed sends or invalid formatting: **{len(fig.bot_problems)}**. Parse modes used: "
        + ", ".join(f"{mode}: {count:,}" for mode, count in fig.parse_modes.items())
        + " (plain text: nothing the worker or the content writes can be read as formatting).",
        "",
        "## Problems",
        "",
        *([f"- {p}" for p in problems[:50]] or ["- none"]),
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    """Run tests/test_fuzz.py with the full numbers; the test writes the report."""
    import pytest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--bot-messages", type=int, default=300)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    os.environ["FUZZ_MESSAGES"] = str(args.messages)
    os.environ["FUZZ_RASA_MESSAGES"] = str(args.messages)
    os.environ["FUZZ_BOT_MESSAGES"] = str(args.bot_messages)
    os.environ["FUZZ_REPORT"] = str(args.out.resolve())
    # No per-test timeout: 10,000 messages take minutes on a small machine.
    return pytest.main(["-q", "-p", "no:cacheprovider", "--timeout=0", str(ROOT / "tests" / "test_fuzz.py")])


if __name__ == "__main__":
    sys.exit(main())
