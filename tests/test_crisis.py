from __future__ import annotations

import random
import time

import pytest
import yaml

from coach import crisis_model
from coach.content import CONTENT_DIR
from coach.crisis import Assessment, CrisisKind, answer, assess, detect, kind_named, rules_detect, safety_line
from scripts.crisis_report import tiers, training_threshold
from scripts.privacy_report import (
    TARGETS,
    BlindBatch,
    CrisisFigures,
    load_blind_batches,
    load_crisis_set,
    measure_crisis,
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mijn cliënt zegt dat hij er vanavond een eind aan maakt", CrisisKind.SUICIDE),
        ("ik wil zelf niet meer leven", CrisisKind.SUICIDE),
        ("mevrouw zegt dat ze dood wil, ze heeft pillen gespaard", CrisisKind.SUICIDE),
        ("ze staat met een mes in de keuken", CrisisKind.ACUTE_DANGER),
        ("meneer ligt bewusteloos op de grond", CrisisKind.MEDICAL),
        ("de vader slaat de kinderen, ik sta nu voor de deur", CrisisKind.CHILD_ABUSE),
        ("het kind heeft blauwe plekken en durft niet naar huis", CrisisKind.CHILD_ABUSE),
        ("ik vermoed kindermishandeling bij gezin B, wat moet ik doen?", CrisisKind.CHILD_ABUSE),
        ("haar man slaat haar, ze belde me net huilend op", CrisisKind.DOMESTIC_VIOLENCE),
        ("ik word bedreigd", CrisisKind.VIOLENCE),
        ("hij zegt dat hij me gaat vermoorden", CrisisKind.VIOLENCE),
    ],
)
def test_crisis_messages_are_recognised(text: str, kind: CrisisKind) -> None:
    assert detect(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "welke signalen van kindermishandeling zijn er?",
        "hoe bespreek ik huiselijk geweld met een cliënt?",
        "wat zegt de meldcode?",
        "wanneer schakel ik Veilig Thuis in?",
        "wat doe ik als een cliënt zegt dat hij niet meer wil leven?",
        "hoe vraag ik naar suïcidale gedachten?",
        "hoe ga ik om met agressie tijdens een huisbezoek?",
        "mijn cliënt is niet suïcidaal, maar wel somber",
        "hij slaat de plank steeds mis bij de gemeente",
        "ik schrik me dood van die rekeningen",
        "mijn cliënt wil geen hulp en doet de deur niet open",
    ],
)
def test_questions_and_ordinary_messages_are_not_a_crisis(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize("text", ["hij praat over zelfmoort", "ze dreigt met suicide", "ze is suïcidaal nu"])
def test_typos_and_accents_are_tolerated(text: str) -> None:
    assert detect(text) is CrisisKind.SUICIDE


def test_placeholders_from_the_scrubber_count_as_a_real_person() -> None:
    assert detect("[naam] praat steeds over zelfdoding") is CrisisKind.SUICIDE


@pytest.mark.parametrize("kind", list(CrisisKind))
def test_every_answer_has_the_help_numbers_and_fits_a_phone_screen(kind: CrisisKind) -> None:
    text = answer(kind)
    for needle in ("112", "113", "0800-0113", "113.nl", "0800-2000", "huisartsenpost", "verder waar je was"):
        assert needle in text, needle
    assert len(text) < 900


def test_abuse_answers_give_the_five_steps_of_the_meldcode() -> None:
    for kind in (CrisisKind.DOMESTIC_VIOLENCE, CrisisKind.CHILD_ABUSE):
        text = answer(kind)
        assert "meldcode" in text
        assert all(f"{step}. " in text for step in range(1, 6))
        assert "afwegingskader" in text
    assert "meldcode" not in answer(CrisisKind.SUICIDE)


@pytest.fixture(scope="module")
def figures() -> CrisisFigures:
    return measure_crisis(load_crisis_set())


def test_test_set_is_big_enough(figures: CrisisFigures) -> None:
    assert figures.crisis_messages + figures.questions >= 100
    assert figures.crisis_messages >= 50 and figures.questions >= 50


def test_recall_on_crisis_messages_meets_target(figures: CrisisFigures) -> None:
    assert figures.recall >= TARGETS["crisis_recall"]


def test_false_alarms_on_questions_meet_target(figures: CrisisFigures) -> None:
    assert figures.false_alarm_rate <= TARGETS["false_alarm"]


# --- indirect wording, recognised through concept lexicons and frames --------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # suicide: a place, a goodbye, a means with preparation, a burden statement
        ("ze staat bovenop de parkeergarage", CrisisKind.SUICIDE),
        ("hij heeft al zijn spullen weggegeven en neemt afscheid", CrisisKind.SUICIDE),
        ("ik ben bang dat hij zichzelf iets aandoet", CrisisKind.SUICIDE),
        ("mijn cliënt appt dat hij alle pillen van zijn vrouw heeft verzameld", CrisisKind.SUICIDE),
        ("ze zegt dat haar kinderen beter af zijn zonder haar", CrisisKind.SUICIDE),
        ("hij heeft een touw over de balk op zolder gegooid", CrisisKind.SUICIDE),
        ("mijn cliënt vroeg welke brug het hoogst is, ik vertrouw het niet", CrisisKind.SUICIDE),
        # acute danger: a weapon with a threat, gas with a flame, carbon monoxide
        ("de buurman dreigt met een hamer", CrisisKind.ACUTE_DANGER),
        ("de zoon loopt met een schroevendraaier achter zijn vader aan", CrisisKind.ACUTE_DANGER),
        ("er hangt een vreemde lucht in de flat en meneer is duizelig en misselijk", CrisisKind.ACUTE_DANGER),
        ("hij heeft benzine over de bank gegoten en staat met een aansteker", CrisisKind.ACUTE_DANGER),
        # violence against the worker or a client
        ("ze is in elkaar geslagen en ligt op de grond", CrisisKind.VIOLENCE),
        ("hij heeft me in de gang klem gezet", CrisisKind.VIOLENCE),
        ("de bezoeker laat me de woning niet uit", CrisisKind.ACUTE_DANGER),
        ("hij zei dat hij weet waar ik woon", CrisisKind.VIOLENCE),
        # domestic violence: a suspicious story, coercive control, someone hiding
        (
            "mevrouw heeft een blauw oog en zegt dat ze tegen de deur liep, ik geloof het niet",
            CrisisKind.DOMESTIC_VIOLENCE,
        ),
        (
            "haar partner heeft haar paspoort afgepakt en ze mag het huis niet uit",
            CrisisKind.DOMESTIC_VIOLENCE,
        ),
        ("ze belde me fluisterend vanuit de kast, haar man is thuis", CrisisKind.DOMESTIC_VIOLENCE),
        # child abuse and neglect
        ("ik zag een baby met vingerafdrukken op zijn wangen", CrisisKind.CHILD_ABUSE),
        ("de moeder is stomdronken en de baby van 6 maanden ligt alleen te huilen", CrisisKind.CHILD_ABUSE),
        ("het zoontje van mevrouw wordt geslagen door haar vriend", CrisisKind.CHILD_ABUSE),
        # medical emergencies and someone confused outside in danger
        ("mevrouw is verward de straat op gegaan, het vriest", CrisisKind.MEDICAL),
        ("meneer heeft zijn hoofd gestoten, is suf en moet overgeven", CrisisKind.MEDICAL),
        ("meneer praat ineens krom en zijn mondhoek hangt", CrisisKind.MEDICAL),
        ("meneer ligt al sinds gisteren op de vloer, hij kan niet opstaan", CrisisKind.MEDICAL),
        ("de peuter heeft een knoopbatterij ingeslikt", CrisisKind.MEDICAL),
        ("mevrouw met dementie is sinds vanmiddag weg en het wordt donker", CrisisKind.MEDICAL),
    ],
)
def test_indirect_crisis_wording_is_recognised(text: str, kind: CrisisKind) -> None:
    assert detect(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        # questions about the topics
        "hoe bespreek ik suïcidaliteit met een cliënt?",
        "hoe ga ik om met een agressieve cliënt in het algemeen?",
        "welke signalen wijzen op een beroerte?",
        "hoe herken ik uitdroging bij ouderen?",
        # past or non-acute problems in a real case
        "vroeger was er huiselijk geweld in het gezin",
        "ze heeft schulden en doet de deur niet open",
        "vroeger sloeg hij haar, nu woont ze veilig",
        "mevrouw met dementie dwaalt soms verward buiten als het koud is",
        # the same words in daily care work
        "mevrouw heeft open wonden aan haar benen en wil geen verband",
        "ik heb de medicijnen van mevrouw klaargezet in de baxterrol",
        "mevrouw neemt afscheid van de thuiszorg want ze gaat naar een verzorgingshuis",
        "meneer wil zijn medicijnen niet meer innemen, hoe motiveer ik hem?",
        "de zoon duwt de rolstoel van zijn moeder naar de huiskamer",
        "mevrouw is vorige maand gevallen en durft nu niet meer alleen te douchen",
        "mevrouw krijgt steeds blauwe plekken door haar bloedverdunners",
        "hij heeft een hamer gepakt om de kast in elkaar te zetten",
        "hij geeft zijn spullen weg aan de kringloop omdat hij kleiner gaat wonen",
        "meneer heeft een jachtvergunning en een geweer, is dat een risico dat ik moet bespreken?",
    ],
)
def test_ordinary_messages_with_crisis_words_are_not_a_crisis(text: str) -> None:
    assert detect(text) is None


# The rules no longer decide alone, but give the kind and the cues (past, question, a labelled
# client, ...) that the classifier uses; these tests pin their reading.


def test_the_past_only_covers_its_own_stretch_of_text() -> None:
    assert rules_detect("vroeger sloeg hij haar, nu woont ze veilig") is None
    assert rules_detect("vroeger sloeg hij haar en nu slaat hij haar weer") is CrisisKind.DOMESTIC_VIOLENCE


def test_a_negation_after_the_verb_counts() -> None:
    assert rules_detect("de vader slaat de kinderen niet, maar schreeuwt wel") is None
    assert rules_detect("de vader slaat de kinderen") is CrisisKind.CHILD_ABUSE


def test_an_accident_named_by_the_worker_explains_a_bruise_but_a_reported_one_does_not() -> None:
    assert rules_detect("mevrouw is gevallen en heeft een blauwe plek op haar arm") is None
    told = "mevrouw heeft een blauwe plek en zegt dat ze gevallen is, ik geloof het niet"
    assert rules_detect(told) is CrisisKind.DOMESTIC_VIOLENCE


def test_a_real_person_does_not_turn_a_frame_in_a_knowledge_question_into_a_crisis() -> None:
    assert rules_detect("hoe bespreek ik met mevrouw dat ze verward is en het koud heeft?") is None
    assert rules_detect("mevrouw is verward en het vriest, ze staat buiten") is CrisisKind.MEDICAL


def test_the_medical_answer_points_to_112_and_the_gp_out_of_hours() -> None:
    text = answer(CrisisKind.MEDICAL)
    assert text.startswith("Is iemand in levensgevaar")
    assert "112" in text.splitlines()[0]
    assert "huisarts" in text and "huisartsenpost" in text
    assert "meldcode" not in text


def test_crisis_content_has_no_duplicate_keys() -> None:
    """YAML keeps the last of two equal keys silently; a duplicate concept would lose words."""

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
        keys = [loader.construct_object(k) for k, _ in node.value]
        duplicates = {k for k in keys if keys.count(k) > 1}
        assert not duplicates, f"duplicate keys {duplicates} at line {node.start_mark.line + 1}"
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load((CONTENT_DIR / "crisis.yml").read_text(encoding="utf-8"), Loader=Strict)


def test_odd_and_long_input_does_not_crash_and_stays_fast() -> None:
    rng = random.Random(5)
    alphabet = "abcdefghijklmnopqrstuvwxyz ëï.,!?\n\t\u0000\u200f\u202e🙂<>*_[]|~@="
    texts = ["", " ", "~3", "@child", "=geduwd", "x" * 4096, "mes " * 1000, "[naam] " * 500]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))) for _ in range(200)]
    start = time.perf_counter()
    for text in texts:
        assert detect(text) in (None, *CrisisKind)
    assert time.perf_counter() - start < 30


# --- blind batches: measured separately from the tuning set ------------------------------


@pytest.fixture(scope="module")
def blind_batches() -> list[BlindBatch]:
    return load_blind_batches()


def test_blind_batches_are_big_enough_and_record_their_first_measurement(
    blind_batches: list[BlindBatch],
) -> None:
    assert len(blind_batches) >= 2
    for batch in blind_batches:
        crisis_count = sum(kind is not None for _, kind in batch.items)
        # At least 60 messages, both kinds well represented (batch 6 has 37 crisis messages).
        assert len(batch.items) >= 60 and crisis_count >= 35 and len(batch.items) - crisis_count >= 20, (
            batch.name
        )
        assert batch.first_run and batch.status, batch.name
    assert any(b.status.startswith("untouched") for b in blind_batches)


def test_blind_batches_do_not_share_messages_with_the_tuning_set(blind_batches: list[BlindBatch]) -> None:
    tuning = {text for text, _ in load_crisis_set()}
    for batch in blind_batches:
        assert not tuning & {text for text, _ in batch.items}, batch.name


def test_false_alarms_on_blind_batches_stay_within_the_aim(blind_batches: list[BlindBatch]) -> None:
    # Batches the rules were tuned on must stay within the aim; the untouched (held-out)
    # batch is a measurement, reported as it is (see the next test and the report).
    for batch in blind_batches:
        if not batch.status.startswith("untouched"):
            fig = measure_crisis(list(batch.items))
            assert fig.false_alarm_rate <= TARGETS["blind_false_alarm"], batch.name


def test_the_held_out_batch_was_measured_after_the_last_change(blind_batches: list[BlindBatch]) -> None:
    """An untouched batch records its one measurement; if the detector changed since, the
    figure differs and the batch must be re-measured (or marked as tuned on) honestly."""
    for batch in blind_batches:
        if batch.status.startswith("untouched"):
            fig = measure_crisis(list(batch.items))
            now = (
                f"recall {fig.detected}/{fig.crisis_messages} = {fig.recall:.3f}, "
                f"false alarms {fig.false_alarms}/{fig.questions} = {fig.false_alarm_rate:.1%}"
            )
            assert batch.first_run[-1].endswith(now), (batch.name, now)


# --- the rules' mechanisms (they give the kind and the cues the classifier uses) ----------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("client heeft me bij mn keel gepakt", CrisisKind.VIOLENCE),  # "mn" = "mijn"
        ("meneer zegt: morgen ben ik er niet meer, regel jij mn kat", CrisisKind.SUICIDE),
        ("ze 😭😭😭 wil dood", CrisisKind.SUICIDE),  # emoji are no words
        ("de dochter bindt haar demente vader met een riem vast aan de stoel", CrisisKind.DOMESTIC_VIOLENCE),
    ],
)
def test_phone_typing_and_separable_verbs_are_read(text: str, kind: CrisisKind) -> None:
    assert rules_detect(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "is een kind dat stil en teruggetrokken is altijd mishandeld?",  # a yes/no question
        "stel een kind vertelt iets over misbruik, wat zeg ik dan",  # hypothetical
        "mevrouw is hersteld van haar hartinfarct en wil weer zelf boodschappen doen",  # resolved
        "dit is levensgevaarlijk saai",  # figure of speech
        "mn teamleider vermoordt me als ik weer te laat ben met de rapportage",
        "mw heeft blauwe plekken van het vallen, ze heeft osteoporose",  # a medical cause named
        "meneer snijdt graag hout met zijn zakmes, dat vindt hij ontspannend",  # a tool used as one
    ],
)
def test_questions_resolved_events_and_figures_of_speech_stay_quiet(text: str) -> None:
    assert rules_detect(text) is None


# --- the classifier (coach/crisis_model.py) ----------------------------------------------

# The held-out batches' last measurement, as recorded in their files (crisis messages that got
# the help numbers, those that got the crisis answer; ordinary messages that got the crisis
# answer, those that got the help line): a change that does worse shows here.
HELD_OUT_TIERS = {
    "crisis_blind9": (42, 39, 1, 6),
    "crisis_blind10": (42, 38, 1, 4),
    "crisis_blind11": (42, 38, 3, 8),
    "crisis_blind13": (60, 53, 2, 0),
}


def test_held_out_crisis_messages_get_the_help_numbers_at_once(blind_batches: list[BlindBatch]) -> None:
    held_out = {b.name: b for b in blind_batches if b.status.startswith(crisis_model.HELD_OUT)}
    assert set(held_out) == set(HELD_OUT_TIERS)
    ordinary = alarmed = 0
    for name, (numbers, answers, alarms, ordinary_lines) in HELD_OUT_TIERS.items():
        got = tiers(held_out[name].items)
        assert got.crisis_answers + got.crisis_lines >= numbers >= 0.97 * got.crisis_messages, name
        assert got.crisis_answers >= answers, name
        assert got.ordinary_answers <= alarms, name
        assert got.ordinary_lines <= ordinary_lines, name
        ordinary, alarmed = ordinary + got.ordinary_messages, alarmed + got.ordinary_answers
    # False alarms over all held-out ordinary messages (one batch of ~40 is too small for 5%).
    assert alarmed / ordinary <= 0.05


def test_an_unsure_message_gets_the_help_line_and_its_normal_answer() -> None:
    # The classifier finds these plausible, the rules don't fire: numbers, no crisis answer.
    for text in (
        "mijn cliënt is niet suïcidaal, maar wel somber",
        "hij heeft wel eens gezegd dat het leven zwaar is",
    ):
        got = assess(text)
        assert got.possible and got.kind is None, text
        assert got.likely == CrisisKind.SUICIDE, text  # what its button's full answer is about
    assert assess("welke stappen heeft de meldcode?") == Assessment()
    line = safety_line()
    assert all(n in line for n in ("112", "113", "0800-0113", "0800-2000")) and len(line) < 250


def test_the_full_answer_of_an_unknown_kind_has_every_number_and_the_meldcode() -> None:
    # What the help line's button gives when its data names no kind (an old or altered button).
    assert kind_named("suicide") == CrisisKind.SUICIDE and kind_named("iets") is None
    general = answer(None)
    assert all(n in general for n in ("112", "113", "0800-0113", "0800-2000", "huisartsenpost"))
    assert "meldcode in vijf stappen" in general and "Ik ben een coach" in general


def test_the_classifier_never_sees_the_held_out_batch(blind_batches: list[BlindBatch]) -> None:
    held = {t for b in blind_batches if b.status.startswith(crisis_model.HELD_OUT) for t, _ in b.items}
    training = {e.text for e in crisis_model.load_examples()}
    assert held and not held & training
    assert {e.text for e in crisis_model.load_examples(held_out=True)} == held


def test_the_threshold_is_the_lowest_that_meets_the_false_alarm_target_on_the_training_sets() -> None:
    assert training_threshold(TARGETS["false_alarm"]) == crisis_model.THRESHOLD


def test_training_is_deterministic() -> None:
    examples = crisis_model.load_examples()[::4]
    texts = [e.text for e in crisis_model.load_examples()[1::9]]
    first = crisis_model.Classifier().fit(examples).probabilities(texts)
    second = crisis_model.Classifier().fit(examples).probabilities(texts)
    assert first.tolist() == second.tolist()


def test_the_trained_model_is_kept_and_loaded_from_the_cache() -> None:
    model = crisis_model.classifier()
    path = crisis_model.CACHE_DIR / f"crisis-model-{crisis_model._fingerprint()}.pickle"
    assert path.exists()
    crisis_model.classifier.cache_clear()
    try:
        again = crisis_model.classifier()
        texts = ["ze wil dood", "hoe bespreek ik suïcidaliteit?"]
        assert (
            again is not model and again.probabilities(texts).tolist() == model.probabilities(texts).tolist()
        )
    finally:
        crisis_model.classifier.cache_clear()


def test_a_short_answer_to_a_flow_question_is_no_crisis() -> None:
    # "Van wie komt het signaal?" — the classifier alone once gave "haar vriend" the crisis
    # answer and "zijn vrouw" the help line; a few words without a crisis word get neither.
    for text in ("haar vriend", "zijn vrouw", "de dochter", "het kind", "zijn moeder", "heel ernstig"):
        assert assess(text) == Assessment(), text
    # A short message with a crisis word still gets the answer.
    assert detect("hij is bewusteloos") == CrisisKind.MEDICAL
    assert detect("ze is suïcidaal nu") == CrisisKind.SUICIDE
