"""The contact message coach: checking a worker's draft and drafting one (plain domain code)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from itertools import product
from pathlib import Path

import pytest

from coach import message_check, message_draft
from coach.message_check import (
    ABSOLUTE,
    ACCUSING,
    JARGON,
    NO_NEXT_STEP,
    NO_POSITIVE,
    PERSONAL,
    RUN_UP,
    TOO_LONG,
    check,
    extract_draft,
    find,
)
from scripts.message_report import TARGET, load, score

ROOT = Path(__file__).resolve().parent.parent


def kinds(text: str) -> set[str]:
    return {f.kind for f in find(text)}


# --- the test set -------------------------------------------------------------------------------


def test_precision_and_recall_reach_the_target_overall_and_per_kind() -> None:
    scores = score(load("drafts"))
    assert scores.precision() >= TARGET, scores.errors
    assert scores.recall() >= TARGET, scores.errors
    for kind in message_check.KINDS:
        assert scores.precision(kind) >= TARGET, (kind, scores.errors)
        assert scores.recall(kind) >= TARGET, (kind, scores.errors)


def test_the_held_out_drafts_stay_at_what_was_measured() -> None:
    """Written after the rules and never tuned on: measured 0.86 precision, 0.95 recall
    (results/message-check-report.md). A guard against rule changes that make it worse."""
    scores = score(load("held_out"))
    assert scores.precision() >= 0.85, scores.errors
    assert scores.recall() >= 0.9, scores.errors


def test_the_set_has_at_least_sixty_drafts_good_and_bad_with_every_kind() -> None:
    cases = load("drafts") + load("held_out")
    assert len(cases) >= 60
    assert sum(not c.expect for c in cases) >= 15
    assert {e.kind for c in cases for e in c.expect} == set(message_check.KINDS)


# --- findings point at the words, with friendly Dutch feedback ---------------------------------


def test_each_finding_points_at_the_words_that_triggered_it() -> None:
    text = (
        "Beste mevrouw, u heeft weer de huur niet betaald. Dit is onverantwoord. "
        "U komt altijd te laat. Ik kom dinsdag om 10 uur ivm de wmo."
    )
    found = find(text)
    by_kind = {(f.kind, f.words) for f in found}
    assert {(ACCUSING, "u heeft weer"), (ACCUSING, "onverantwoord"), (ABSOLUTE, "altijd")} <= by_kind
    assert {(JARGON, "ivm"), (JARGON, "wmo")} <= by_kind
    for finding in found:
        if finding.start >= 0:
            assert text[finding.start : finding.end] == finding.words
        assert finding.feedback and finding.suggestion and finding.guideline
    accusing = next(f for f in found if f.words == "onverantwoord")
    assert '"onverantwoord" kan klinken als een verwijt' in accusing.feedback


def test_a_good_first_message_has_no_findings() -> None:
    text = (
        "Goedemiddag, ik stuur u dit bericht omdat uw huisarts zich zorgen maakt over uw been. "
        "Fijn dat u de zalf zelf bijhoudt. Ik kom dinsdag om 10 uur langs. Past dat niet? "
        "Stuur me dan een berichtje."
    )
    result = check(text)
    assert result.findings == ()
    assert result.rewrite is None
    assert "ziet er goed uit" in message_check.render(result)[0]


def test_an_absolute_word_in_an_offer_or_in_praise_is_fine() -> None:
    assert ABSOLUTE not in kinds("Ik stuur u dit bericht over de huur. U kunt mij altijd bellen.")
    assert ABSOLUTE not in kinds("U bent altijd welkom op het spreekuur over uw post.")
    assert ABSOLUTE not in kinds("U was altijd zo zelfstandig, dat waardeer ik.")
    assert ABSOLUTE in kinds("U doet nooit open als de thuiszorg komt.")


def test_schuld_as_a_debt_is_a_fact_but_as_blame_a_reproach() -> None:
    assert ACCUSING not in kinds("Ik neem contact met u op over de schuld bij het energiebedrijf.")
    assert ACCUSING in kinds("Het is uw eigen schuld dat de stroom is afgesloten.")


def test_a_vague_reason_and_a_long_run_up_are_found() -> None:
    vague = next(f for f in find("Hallo, ik wil een en ander met u bespreken.") if f.kind == RUN_UP)
    assert vague.words == "een en ander"
    long_opening = (
        "Goedemiddag, ik werk in uw wijk en wij proberen met zoveel mogelijk mensen in contact te "
        "komen om te horen hoe het met hen gaat en of er dingen zijn waar wij bij kunnen helpen. "
        "Ik stuur u dit bericht omdat de apotheek zich zorgen maakt."
    )
    run_up = next(f for f in find(long_opening) if f.kind == RUN_UP)
    assert "pas na" in run_up.feedback


def test_missing_moment_and_positive_element_are_named() -> None:
    found = kinds("Ik stuur u dit bericht over de lekkage in uw badkamer.")
    assert {NO_NEXT_STEP, NO_POSITIVE} <= found
    assert NO_POSITIVE not in kinds("Ik stuur u dit bericht over de huur. U zorgt zo goed voor uw kat.")
    assert NO_POSITIVE in kinds("Ik stuur u dit bericht over de huur. Bel zo snel mogelijk.")


def test_too_long_for_a_phone_screen() -> None:
    text = "Ik stuur u dit bericht over de huur. Fijn dat u belde. Past dinsdag om 10 uur? " * 6
    finding = next(f for f in find(text) if f.kind == TOO_LONG)
    assert str(len(text.strip())) in finding.feedback
    assert finding.start == message_check.max_chars()


def test_personal_details_and_the_placeholders_of_the_scrubbed_bot_path() -> None:
    raw = next(f for f in find("Bel mij op 06-12345678 over de huur.") if f.kind == PERSONAL)
    assert "een telefoonnummer" in raw.feedback and "eigen werknummer" in raw.suggestion
    scrubbed = next(f for f in find("Bel mij op [telefoon] over de huur.") if f.kind == PERSONAL)
    assert scrubbed.words == "[telefoon]"
    assert "Ik zag een telefoonnummer in je concept" in scrubbed.feedback
    assert "al uit je bericht gehaald" in scrubbed.suggestion
    named = next(f for f in find("Beste mevrouw [naam], ik kom dinsdag.") if f.kind == PERSONAL)
    assert "een naam" in named.feedback


# --- the rewrite --------------------------------------------------------------------------------


def test_the_rewrite_turns_an_order_into_a_request_and_softens() -> None:
    result = check("Beste meneer, u heeft weer niet opengedaan. U moet de deur opendoen als wij komen.")
    assert result.rewrite is not None
    assert "Ik vraag u om de deur open te doen als wij komen." in result.rewrite
    assert "weer" not in result.rewrite
    assert ACCUSING not in {f.kind for f in find(result.rewrite)}


def test_every_rewrite_of_the_test_set_fixes_what_rules_can_fix() -> None:
    fixable = {ACCUSING, ABSOLUTE, JARGON, PERSONAL, NO_POSITIVE, NO_NEXT_STEP}
    improved = 0
    for case in load("drafts") + load("held_out"):
        result = check(case.text)
        if result.rewrite is None:
            continue
        before, after = set(result.kinds), {f.kind for f in find(result.rewrite)}
        assert after <= before, (case.id, after - before, result.rewrite)
        assert not (after & fixable & before) - {ACCUSING}, (case.id, after, result.rewrite)
        improved += len(after) < len(before)
    assert improved >= 40


# --- requests to check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "draft"),
    [
        ("check mijn bericht: Beste meneer, ik kom dinsdag.", "Beste meneer, ik kom dinsdag."),
        ("Kun je mijn sms checken?\nHoi, ik app je over de huur.", "Hoi, ik app je over de huur."),
        (
            "check dit appje Hoi, ik app je omdat de huur openstaat.",
            "Hoi, ik app je omdat de huur openstaat.",
        ),
        ("nakijken graag: Dag meneer, ik kom dinsdag.", "Dag meneer, ik kom dinsdag."),
        ("is dit appje ok? Hoi, ik app je over de huur van mei.", "Hoi, ik app je over de huur van mei."),
        ("kun je dit checken: Dag mevrouw, tot dinsdag.", "Dag mevrouw, tot dinsdag."),
        ("kun je mijn sms checken?", None),
        ("check mijn bericht:", None),
        ("help me een berichtje sturen", None),
    ],
)
def test_the_draft_is_taken_from_the_request(message: str, draft: str | None) -> None:
    assert extract_draft(message) == draft


# --- drafting -----------------------------------------------------------------------------------

ANSWERS = {
    "rol": "de wijkverpleegkundige van het wijkteam",
    "aanleiding": "uw wond aan uw been",
    "feiten": "de huisarts zag u drie weken niet",
    "vast": "de wond moet verzorgd worden",
    "open": "wanneer ik kom en wie er komt",
    "positief": "u houdt de zalf zelf goed bij",
    "moment": "dinsdag om 10 uur",
}


def test_three_tones_each_passing_the_checker() -> None:
    drafts = {d.tone: d for d in message_draft.drafts(ANSWERS)}
    assert set(drafts) == {"neutraal", "formeel", "persoonlijk"}
    for draft in drafts.values():
        assert draft.findings == (), (draft.tone, draft.text)
        assert len(draft.text) <= message_check.max_chars()
        assert "dinsdag om 10 uur" in draft.text and "wond aan" in draft.text
    assert drafts["formeel"].text.startswith("Geachte")
    words = set(drafts["persoonlijk"].text.lower().replace(".", " ").split())
    assert "je" in words and "u" not in words and "uw" not in words
    assert " je " not in drafts["neutraal"].text


def test_generated_drafts_pass_the_checker_for_many_answers() -> None:
    reasons = ["de huurachterstand", "uw wond", "dat de buren zich zorgen maken over je", ""]
    positives = ["je hebt zelf gebeld", "u zorgt goed voor uw hond", ""]
    moments = ["donderdagmiddag", "morgen om 14.00 uur", ""]
    facts = ["de huur van april staat nog open", ""]
    for reason, positive, moment, fact in product(reasons, positives, moments, facts):
        answers = {"aanleiding": reason, "positief": positive, "moment": moment, "feiten": fact}
        for draft in message_draft.drafts(answers):
            found = {f.kind for f in draft.findings}
            if reason:
                assert not found, (answers, draft.text, found)
            else:  # without a reason (unless the fact names one) the draft says so
                assert found <= {RUN_UP}, (answers, draft.text)


def test_names_and_details_never_appear_in_a_draft() -> None:
    answers = {
        **ANSWERS,
        "rol": "Sanne de Vries van het wijkteam",
        "feiten": "mevrouw Jansen (06-12345678) zag u op de Dorpsstraat 12",
    }
    messages = message_draft.render(answers)
    text = "\n".join(messages)
    for detail in ("Sanne", "Vries", "Jansen", "06-12345678", "Dorpsstraat", "[naam]", "[telefoon]"):
        assert detail not in text
    assert "Persoonlijke gegevens uit je antwoorden heb ik weggelaten" in text


def test_the_worker_hears_what_their_own_words_trip() -> None:
    answers = {**ANSWERS, "feiten": "u doet nooit open"}
    messages = message_draft.render(answers)
    assert '"nooit" is een absoluut woord' in messages[-1]


def test_timing_advice_warns_for_the_last_moment_and_quiet_hours() -> None:
    late = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)  # 22:30 in Amsterdam
    advice = message_draft.timing_advice("vandaag om 3 uur", late)
    assert "kort dag" in advice and "Het is nu 22:30" in advice
    calm = message_draft.timing_advice("dinsdag om 10 uur", datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert "⚠️" not in calm
    assert "Aankondigen of niet" in calm and "Bron: Werkwijze zorgmijdende cliënten" in calm
    assert "Ik verstuur zelf niets" in message_draft.render(ANSWERS)[-1]


# --- design rules -------------------------------------------------------------------------------


def test_the_domain_modules_import_neither_rasa_nor_telegram() -> None:
    for name in ("message_check", "message_draft"):
        tree = ast.parse((ROOT / "coach" / f"{name}.py").read_text())
        imported = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not {m for m in imported if m.split(".")[0] in {"rasa", "rasa_sdk", "telegram"}}


def test_the_personal_tone_keeps_the_verb_in_agreement() -> None:
    answers = {"aanleiding": "de buren", "vast": "ik kijk of u eten heeft", "moment": "dinsdag om 10 uur"}
    personal = message_draft.compose(answers, "persoonlijk")
    assert "of je eten hebt" in personal
    assert "of u eten heeft" in message_draft.compose(answers, "neutraal")
