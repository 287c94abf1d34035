from __future__ import annotations

import random
from datetime import date

import pytest

from coach.scrubber import NOTICE, bsn_valid, find, scrub
from scripts.privacy_report import NUMBER_LIKE, TARGETS, ScrubFigures, load_scrub_set, measure_scrubber


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("meneer Jansen wil niet opendoen", "meneer [naam] wil niet opendoen"),
        ("mw. A. van der Berg belde", "mw. [naam] belde"),
        ("haar zoon Kevin is 15", "haar zoon [naam] is 15"),
        ("ik sprak Fatima vandaag", "ik sprak [naam] vandaag"),
        ("Jan de Vries belde boos op", "[naam] belde boos op"),
        ("bel haar op 06-12345678", "bel haar op [telefoon]"),
        ("nummer +31 (0)6 1234 5678", "nummer [telefoon]"),
        ("vaste lijn (010) 234 56 78", "vaste lijn [telefoon]"),
        ("zus in België: +32 470 12 34 56", "zus in België: [telefoon]"),
        ("mail s.devries@hotmail.com even", "mail [e-mail] even"),
        ("rekening NL91 ABNA 0417 1643 00 graag", "rekening [iban] graag"),
        ("ze woont op Dorpsstraat 12 in Zwolle", "ze woont op [adres] in Zwolle"),
        ("Kerkweg 3a, 1234 AB Utrecht", "[adres] Utrecht"),
        ("postcode 1234AB 12", "postcode [adres]"),
        ("geboren 3 mei 1980", "geboren [geboortedatum]"),
        ("geb. 12/3/56 en bsn 111222333", "geb. [geboortedatum] en bsn [bsn]"),
    ],
)
def test_details_are_replaced(text: str, expected: str) -> None:
    assert scrub(text).text == expected


def test_found_lists_each_category_once_in_order() -> None:
    result = scrub("meneer Bakker (06-12345678) en mevrouw Bakker, bsn 111222333")
    assert result.found == ("naam", "telefoon", "bsn")
    assert result.names == ("Bakker",)


def test_bsn_only_when_the_eleven_check_passes() -> None:
    assert bsn_valid("111222333") and bsn_valid("1112.22.333") and bsn_valid("111 222 333")
    assert not bsn_valid("123456789") and not bsn_valid("000000000") and not bsn_valid("11122233")
    assert scrub("bsn 1112.22.333").text == "bsn [bsn]"
    assert scrub("dossiernummer 123456789").text == "dossiernummer 123456789"


def test_iban_only_when_mod_97_passes() -> None:
    assert scrub("NL91ABNA0417164300").text == "[iban]"
    assert scrub("NL92ABNA0417164300").text == "NL92ABNA0417164300"
    assert scrub("twee: NL91ABNA0417164300 en BE68539007547034").text == "twee: [iban] en [iban]"


@pytest.mark.parametrize(
    "text",
    [
        "cliënt A wil geen contact meer",
        "gezin B heeft vijf kinderen",
        "meneer X zegt dat hij alles zelf kan",
        "Cliënt C. komt morgen",
        "mevrouw Y belde om 9 uur",
    ],
)
def test_client_labels_stay(text: str) -> None:
    assert scrub(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "afspraak morgen om 10 uur",
        "op 12 maart om 14.00 heb ik overleg",
        "afspraak op 12-03 om 11 uur",
        f"de zitting is op 15-10-{date.today().year}",
        f"ontruiming gepland op 1 december {date.today().year + 1}",
        "de huur is 845 euro, schuld €12.500 en 1.250,00 bijstand",
        "tussen 9:00 en 17:00, 2 keer per week, om 10.30 uur",
        "meneer is geboren in 1956 en is 67 jaar",
        "bel 112, of 113 of 0800-0113, Veilig Thuis 0800-2000",
        "overleg met Veilig Thuis, de GGZ en de Voedselbank in Amsterdam",
        "ze woont ergens in de Dorpsstraat",
    ],
)
def test_ordinary_text_stays(text: str) -> None:
    assert scrub(text).text == text


def test_birth_date_rule_depends_on_cue_or_age() -> None:
    year = date.today().year
    assert scrub(f"op 12-03-{year - 30} geboren").found == ("geboortedatum",)
    assert scrub(f"sinds 12-03-{year - 30} in beeld").found == ("geboortedatum",)  # a long-ago full date
    assert scrub(f"sinds 12-03-{year - 5} in beeld").found == ()
    assert scrub("zoon is jarig op 12 maart").text == "zoon is jarig op [geboortedatum]"


def test_known_names_are_remembered_case_insensitively() -> None:
    first = scrub("ik ging naar Pietje de Wit")
    assert first.names == ("Pietje de Wit",)
    later = scrub("PIETJE was er niet, de wit ook niet", known_names=first.names)
    assert later.text == "[naam] was er niet, [naam] ook niet"
    assert scrub("bos wil niet", known_names=["Bos"]).text == "[naam] wil niet"


def test_findings_have_spans_in_the_original_text() -> None:
    text = "bel Kevin op 0612345678"
    assert [(text[f.start : f.end], f.category) for f in find(text)] == [
        ("Kevin", "naam"),
        ("0612345678", "telefoon"),
    ]


def test_notice_is_short_kind_dutch_text() -> None:
    assert 80 < len(NOTICE) < 400
    assert "cliënt A" in NOTICE and "gegevens" in NOTICE


def test_odd_input_does_not_crash() -> None:
    rng = random.Random(5)
    alphabet = "aZ09 .,-+()@\n\t€éëï😀\u202e\u200fمرحبا*_[]<>`\x00"
    for size in (0, 1, 50, 4096):
        for _ in range(20):
            text = "".join(rng.choice(alphabet) for _ in range(size))
            assert isinstance(scrub(text).text, str)


@pytest.fixture(scope="module")
def figures() -> ScrubFigures:
    return measure_scrubber(load_scrub_set())


def test_test_set_is_big_enough(figures: ScrubFigures) -> None:
    assert figures.messages >= 300


def test_recall_of_number_like_details_meets_target(figures: ScrubFigures) -> None:
    for category in NUMBER_LIKE:
        assert figures.recall((category,)) >= TARGETS["number_recall"], category


def test_recall_of_names_meets_target(figures: ScrubFigures) -> None:
    assert figures.recall(("naam",)) >= TARGETS["name_recall"]


def test_few_ordinary_words_are_removed(figures: ScrubFigures) -> None:
    assert figures.false_removal <= TARGETS["false_removal"]
