"""Supervision without a browser: what is shared (/delen), the scope that enforces it, the
bot's side (/dashboard, /team, /privacy, feedback and its one reply) through the real PTB bot
against the fake Bot API, and the admin's audit command.

The Telegram tests need no Rasa: every command here is answered by the bot itself.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import access, crypto, sharing
from bot.dashboard import audit, auth, feedback, queries
from bot.dashboard.scope import Scope, Viewer
from bot.db import Database
from bot.models import Case, Direction, Message, Role, Status, User
from bot.models.dashboard import Comment, LoginToken, ShareMode, TurnTag
from bot.models.reflection import Reflection
from bot.telegram_app import CHANNEL
from tests.bot_harness import TelegramUser, buttons_of, make_settings, running_bot
from tests.fake_bot_api import FakeBotApi
from tests.rasa_stack import RasaStack

DATA_KEY = "bDEKS7nI1GJkQ6a8Dw78292wnWROH3kAykWaw0s8Qmc="  # a test-only Fernet key
NO_RASA = "http://127.0.0.1:9"  # nothing here needs Rasa


@pytest.fixture(autouse=True)
def data_key(monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_key(monkeypatch)


def use_test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """One encryption key for this process and the servers it starts; the process's key
    ring is put back afterwards, so later tests keep theirs."""
    monkeypatch.setenv("DEUROPENER_DATA_KEYS", DATA_KEY)
    monkeypatch.setattr(crypto, "_ring", crypto.KeyRing(DATA_KEY))


# --- a team with transcripts -------------------------------------------------------------


@dataclass
class Team:
    """Two teams: in "Noord" a supervisor and three workers (sharing all, one case, nothing);
    in "Zuid" a supervisor and a worker who shares everything."""

    db: Database
    supervisor: User
    all_worker: User
    case_worker: User
    none_worker: User
    other_supervisor: User
    other_worker: User
    shared_case: Case
    unshared_case: Case
    messages: dict[str, Message] = field(default_factory=dict)


def _user(session: object, role: Role, team: str, pseudonym: str, chat_id: int | None = None) -> User:
    user = User(
        pseudonym=pseudonym,
        channel=CHANNEL,
        chat_id=chat_id,
        role=role.value,
        team=access.team_named(session, team),  # type: ignore[arg-type]
    )
    session.add(user)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return user


def _turn(
    session: object,
    user: User,
    at: datetime,
    text: str,
    answer: str,
    *,
    flow: str = "core",
    confidence: float = 0.93,
    intent: str = "greet",
    case: Case | None = None,
    strategy: str | None = None,
    step: str | None = None,
) -> tuple[Message, Message]:
    asked = Message(
        user_id=user.id,
        direction=Direction.IN.value,
        kind="text",
        status=Status.ANSWERED.value,
        text=text,
        intent=intent,
        confidence=confidence,
        flow=flow,
        created_at=at,
    )
    session.add(asked)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    said = Message(
        user_id=user.id,
        direction=Direction.OUT.value,
        kind="reply",
        status=Status.SENT.value,
        text=answer,
        flow=flow,
        reply_to_id=asked.id,
        created_at=at + timedelta(seconds=2),
    )
    session.add(said)  # type: ignore[attr-defined]
    if case or strategy or step:
        session.add(  # type: ignore[attr-defined]
            TurnTag(message_id=asked.id, case_id=case.id if case else None, strategy=strategy, step=step)
        )
    session.flush()  # type: ignore[attr-defined]
    return asked, said


def seed(
    db: Database,
    worker_chat_id: int | None = None,
    worker_pseudonym: str | None = None,
    plain_names: bool = False,
) -> Team:
    """The two teams, with conversations from yesterday (all in the last 30 days)."""
    tag = secrets.token_hex(3)
    now = datetime.now(UTC).replace(microsecond=0)
    day = now - timedelta(days=1)
    with db.session() as s:
        suffix = "" if plain_names else f" {tag}"  # plain: once per database (the screenshots)
        noord, zuid = f"Wijkteam Noord{suffix}", f"Wijkteam Zuid{suffix}"
        supervisor = _user(s, Role.SUPERVISOR, noord, f"sup-{tag}")
        all_worker = _user(s, Role.WORKER, noord, worker_pseudonym or f"all-{tag}", worker_chat_id)
        case_worker = _user(s, Role.WORKER, noord, f"case-{tag}")
        none_worker = _user(s, Role.WORKER, noord, f"none-{tag}")
        other_supervisor = _user(s, Role.SUPERVISOR, zuid, f"sup2-{tag}")
        other_worker = _user(s, Role.WORKER, zuid, f"other-{tag}")
        shared_case = Case(owner=case_worker.pseudonym, label="cliënt A", flows={})
        unshared_case = Case(owner=case_worker.pseudonym, label="cliënt B", flows={})
        s.add_all([shared_case, unshared_case])
        s.flush()
        sharing.set_mode(s, all_worker, ShareMode.ALL)
        sharing.set_mode(s, none_worker, ShareMode.NONE)
        sharing.toggle_case(s, case_worker, shared_case.id)
        sharing.set_mode(s, other_worker, ShareMode.ALL)
        team = Team(
            db,
            supervisor,
            all_worker,
            case_worker,
            none_worker,
            other_supervisor,
            other_worker,
            shared_case,
            unshared_case,
        )
        m = team.messages
        m["door"], m["door_answer"] = _turn(
            s,
            all_worker,
            day.replace(hour=9, minute=0),
            "mevrouw doet de deur niet open",
            "Dan past nut bewijzen: bied eerst iets praktisch aan.",
            flow="strategy",
            intent="describe_situation",
            strategy="nut_bewijzen",
        )
        m["unsure"], _ = _turn(
            s,
            all_worker,
            day.replace(hour=9, minute=3),
            "hij zegt niks meer en ik weet t niet",
            "Bedoel je dat je cliënt niet meer reageert?",
            intent="ask_help",
            confidence=0.41,
        )
        m["fallback"], _ = _turn(
            s,
            all_worker,
            day.replace(hour=9, minute=5),
            "blorp",
            "Dat begreep ik niet.",
            intent="nlu_fallback",
            confidence=0.2,
        )
        m["later"], _ = _turn(
            s,
            all_worker,
            day.replace(hour=15, minute=0),
            "welke signalen zie je bij ouderen?",
            "Let op vermagering, vervuiling en sociaal isolement.",
            flow="verzamelen",
            step="2/8",
        )
        m["case_a"], m["case_a_answer"] = _turn(
            s,
            case_worker,
            day.replace(hour=10),
            "cliënt A wil niet praten",
            "Begin met wat A belangrijk vindt.",
            flow="werkrelatie",
            case=shared_case,
            step="1/6",
        )
        m["case_b"], _ = _turn(
            s,
            case_worker,
            day.replace(hour=10, minute=5),
            "cliënt B is boos op de buren",
            "Wat wil B zelf bereiken?",
            flow="werkrelatie",
            case=unshared_case,
        )
        m["no_case"], _ = _turn(s, case_worker, day.replace(hour=10, minute=8), "hoi", "Hoi!")
        m["none"], _ = _turn(s, none_worker, day.replace(hour=11), "geheim gesprek", "Antwoord.")
        m["other"], _ = _turn(s, other_worker, day.replace(hour=12), "zuid vraag", "zuid antwoord")
        s.add_all(
            [
                Reflection(
                    case_id=shared_case.id,
                    owner=case_worker.pseudonym,
                    scores={"vertrouwen": 2},
                    created_at=day - timedelta(days=7),
                ),
                Reflection(
                    case_id=shared_case.id,
                    owner=case_worker.pseudonym,
                    scores={"vertrouwen": 4},
                    created_at=day,
                ),
                Reflection(
                    case_id=unshared_case.id,
                    owner=case_worker.pseudonym,
                    scores={"vertrouwen": 1},
                    created_at=day,
                ),
            ]
        )
    return team


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def team(db: Database) -> Team:
    return seed(db)


def scope_of(db_session: object, user: User) -> Scope:
    return Scope(db_session, Viewer.of(user))  # type: ignore[arg-type]


# --- the scope: what a supervisor can and cannot see -------------------------------------


def test_a_supervisor_sees_only_their_teams_workers_and_only_what_they_share(team: Team) -> None:
    check_supervisor_scope(team)


def test_the_scope_holds_on_postgresql(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        database.migrate()
        check_supervisor_scope(seed(database))
    finally:
        database.dispose()


def check_supervisor_scope(team: Team) -> None:
    with team.db.session() as s:
        scope = scope_of(s, team.supervisor)
        assert [w.id for w in scope.workers()] == [
            team.all_worker.id,
            team.case_worker.id,
            team.none_worker.id,
        ]
        assert scope.worker(team.other_worker.id) is None  # another team's worker
        assert scope.worker(team.other_supervisor.id) is None
        assert scope.worker(team.supervisor.id) is None  # supervisors aren't reviewed
        # Everything of the worker who shares all; nothing of the one who shares nothing.
        texts = [m.text for m in scope.messages(team.all_worker)]
        assert "mevrouw doet de deur niet open" in texts and len(texts) == 8
        assert scope.messages(team.none_worker) == []
        assert scope.message(team.messages["none"].id) is None
        assert scope.message(team.messages["other"].id) is None
        # Per case: the turns about cliënt A (question and answer), not B, not the small talk.
        shown = [m.text for m in scope.messages(team.case_worker)]
        assert shown == ["cliënt A wil niet praten", "Begin met wat A belangrijk vindt."]
        assert scope.message(team.messages["case_b"].id) is None
        assert scope.message(team.messages["no_case"].id) is None
        assert [c.label for c in scope.cases(team.case_worker)] == ["cliënt A"]
        assert [r.scores for r in scope.reflections(team.case_worker)] == [
            {"vertrouwen": 2},
            {"vertrouwen": 4},
        ]
        assert scope.reflections(team.none_worker) == []


def test_the_other_teams_supervisor_sees_none_of_this_team(team: Team) -> None:
    with team.db.session() as s:
        door = team.messages["door"].id
        feedback.add_comment(scope_of(s, team.supervisor), team.supervisor, door, "Goed gedaan", True)
        assert len(scope_of(s, team.supervisor).comments([door])) == 1
        scope = scope_of(s, team.other_supervisor)
        assert scope.comments([door]) == []  # asked for by id: still nothing
        assert [w.id for w in scope.workers()] == [team.other_worker.id]
        for key in ("door", "case_a", "none"):
            assert scope.message(team.messages[key].id) is None
            assert queries.transcript(scope, team.messages[key].id) is None
        assert queries.conversations(scope, team.all_worker) == []
        assert scope.cases(team.case_worker) == []


def test_a_worker_sees_only_their_own_conversations(team: Team) -> None:
    with team.db.session() as s:
        scope = scope_of(s, team.case_worker)
        assert [w.id for w in scope.workers()] == [team.case_worker.id]
        assert scope.message(team.messages["case_b"].id) is not None  # their own, even unshared
        assert scope.message(team.messages["door"].id) is None  # a colleague's


def test_conversations_are_grouped_by_pauses_and_filtered(team: Team) -> None:
    with team.db.session() as s:
        scope = scope_of(s, team.supervisor)
        found = queries.conversations(scope, team.all_worker)
        assert [c.id for c in found] == [team.messages["later"].id, team.messages["door"].id]  # newest first
        morning = found[1]
        assert morning.asked == 3 and morning.strategies == ["nut_bewijzen"]
        assert morning.flows == ["core", "strategy"]
        low = [t.message.text for t in morning.turns if t.low_confidence]
        assert low == ["hij zegt niks meer en ik weet t niet", "blorp"]
        assert [t.message.text for t in morning.turns if t.fallback] == ["blorp"]

        def ids(**args: str) -> list[int]:
            return [c.id for c in queries.conversations(scope, team.all_worker, queries.Filters.parse(args))]

        assert ids(zoek="DEUR") == [team.messages["door"].id]  # case-insensitive, on decrypted text
        assert ids(zoek="ouderen") == [team.messages["later"].id]
        assert ids(strategie="nut_bewijzen") == [team.messages["door"].id]
        assert ids(onderwerp="verzamelen") == [team.messages["later"].id]
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
        assert len(ids(van=yesterday.isoformat(), tot=yesterday.isoformat())) == 2
        assert ids(van=datetime.now(UTC).date().isoformat()) == []
        assert ids(van="geen datum") == ids()  # a bad date is ignored, not an error


def test_team_overview_counts_only_what_is_shared(team: Team) -> None:
    with team.db.session() as s:
        rows = {r.worker.id: r for r in queries.team_overview(scope_of(s, team.supervisor))}
        assert (rows[team.all_worker.id].conversations, rows[team.all_worker.id].sharing) == (2, "all")
        assert dict(rows[team.all_worker.id].strategies) == {"nut_bewijzen": 1}
        assert (rows[team.case_worker.id].conversations, rows[team.case_worker.id].reflections) == (1, 2)
        none = rows[team.none_worker.id]
        assert (none.conversations, none.reflections, none.last_activity) == (0, 0, None)


def test_export_holds_the_visible_turns_and_defuses_spreadsheet_formulas(team: Team) -> None:
    with team.db.session() as s:
        scope = scope_of(s, team.supervisor)
        rows = queries.export_rows(queries.conversations(scope, team.case_worker))
        assert [r["tekst"] for r in rows] == ["cliënt A wil niet praten", "Begin met wat A belangrijk vindt."]
        assert rows[0]["cliënt"] == "cliënt A" and rows[0]["stap"] == "1/6"
        csv_text = queries.as_csv([{**rows[0], "tekst": "=HYPERLINK(1)"}])
        assert "'=HYPERLINK(1)" in csv_text


# --- sign-in tokens ----------------------------------------------------------------------


def test_a_link_token_works_once_for_ten_minutes_and_only_its_hash_is_stored(team: Team) -> None:
    with team.db.session() as s:
        token = auth.create_link_token(s, team.supervisor, "/gesprek/1")
        old = auth.create_link_token(s, team.supervisor, at=datetime.now(UTC) - timedelta(minutes=11))
        stored = s.scalars(select(LoginToken.token_hash)).all()
        assert token not in stored and auth.digest(token) in stored
    with team.db.session() as s:
        assert auth.redeem(s, old, hours=8) is None  # expired
        started = auth.redeem(s, token, hours=8)
        assert started is not None
        cookie, web = started
        assert auth.current(s, cookie)[0].id == team.supervisor.id  # type: ignore[index]
        assert auth.redeem(s, token, hours=8) is None  # used
        assert auth.current(s, "guess") is None
        web.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        assert auth.current(s, cookie) is None  # the session expired
    assert (
        auth.safe_target("//evil.example/x") == "/"
        and auth.safe_target("/gesprek/3#bericht-4") == "/gesprek/3#bericht-4"
    )


# --- the admin --------------------------------------------------------------------------


def test_team_policy_is_the_default_until_the_worker_chooses(db: Database) -> None:
    with db.session() as s:
        worker = _user(s, Role.WORKER, "Beleidteam", "pol-1")
        assert sharing.shared(s, worker).mode is ShareMode.NONE  # no policy: nothing
        sharing.set_team_policy(s, worker.team_id, ShareMode.ALL)
        assert sharing.shared(s, worker) == sharing.Shared(ShareMode.ALL, chosen=False)
        sharing.set_mode(s, worker, ShareMode.NONE)
        assert sharing.shared(s, worker) == sharing.Shared(ShareMode.NONE, chosen=True)


def test_admin_team_policy_and_audit_commands(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import admin

    monkeypatch.setenv("DATABASE_URL", team.db.url)
    monkeypatch.setenv("DEUROPENER_DATA_DIR", str(tmp_path))
    team_name = team.supervisor.team.name
    assert admin.main(["team-policy", "--team", team_name, "--sharing", "cases"]) == 0
    assert "cases" in capsys.readouterr().out
    with team.db.session() as s:
        assert sharing.team_policy(s, team.supervisor.team_id) is ShareMode.CASES
        audit.record(s, team.supervisor, "view_transcript", "gesprek 7", team.all_worker.id)
        audit.record(s, team.other_supervisor, "export_csv", "gesprek 9", team.other_worker.id)
    assert admin.main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "view_transcript" in out and "gesprek 7" in out and "export_csv" in out
    assert admin.main(["audit", "--team", team_name]) == 0
    out = capsys.readouterr().out
    assert "gesprek 7" in out and "gesprek 9" not in out
    assert admin.main(["invite", "--role", "worker", "--team", "Nieuw team", "--sharing", "all"]) == 0
    with team.db.session() as s:
        new_team = access.team_named(s, "Nieuw team")
        assert sharing.team_policy(s, new_team.id) is ShareMode.ALL


def test_feedback_is_queued_to_the_worker_and_accepts_one_reply(team: Team) -> None:
    with team.db.session() as s:
        scope = scope_of(s, team.supervisor)
        with pytest.raises(feedback.CommentRefused):
            feedback.add_comment(scope, team.supervisor, team.messages["other"].id, "kijk eens", True)
        with pytest.raises(feedback.CommentRefused):
            feedback.add_comment(scope, team.supervisor, team.messages["door"].id, "   ", True)
        comment = feedback.add_comment(
            scope,
            team.supervisor,
            team.messages["door"].id,
            "Mooi: je vroeg door. Bel Jan de Vries op 0612345678",
            True,
        )
        assert "0612345678" not in comment.text  # scrubbed like everything else that is stored
        queued = s.scalars(
            select(Message).where(
                Message.user_id == team.all_worker.id, Message.status == Status.QUEUED.value
            )
        ).all()
        assert len(queued) == 1 and queued[0].flow == "feedback"
        assert "mevrouw doet de deur niet open" in (queued[0].text or "")
        assert [b[0] for b in queued[0].buttons or []] == ["Bekijk het moment", "Reageer"]
        worker = s.get(User, team.all_worker.id)
        assert worker is not None
        assert feedback.tapped(s, worker, f"feedback:reply:{comment.id}")[0].text.startswith("Typ je reactie")
        assert feedback.awaiting_reply(s, worker.id) is not None
        feedback.store_reply(s, worker, "Dank je, doe ik!")
        assert feedback.tapped(s, worker, f"feedback:reply:{comment.id}")[0].text.startswith(
            "Je hebt op deze"
        )
        assert feedback.awaiting_reply(s, worker.id) is None
        other = s.get(User, team.case_worker.id)
        assert (
            other is not None
            and "werkt niet meer" in feedback.tapped(s, other, f"feedback:reply:{comment.id}")[0].text
        )
    with team.db.session() as s:
        stored = s.get(Comment, comment.id)
        assert stored is not None and stored.reply == "Dank je, doe ik!"


def test_a_reply_that_signals_a_crisis_gets_the_crisis_answer_at_once(team: Team) -> None:
    with team.db.session() as s:
        comment = feedback.add_comment(
            scope_of(s, team.supervisor), team.supervisor, team.messages["door"].id, "Hoe gaat het?", False
        )
        worker = s.get(User, team.all_worker.id)
        assert worker is not None and not comment.about_turn
        assert comment.message_id == team.messages["door"].id  # the whole conversation: its first message
        feedback.tapped(s, worker, f"feedback:reply:{comment.id}")
        answers = feedback.store_reply(s, worker, "de vader slaat de kinderen")
        assert answers[0].text.startswith("Dank je") and "Veilig Thuis" in answers[1].text


def test_a_turn_is_tagged_with_its_case_step_and_a_recommended_strategy(team: Team) -> None:
    with team.db.session() as s:
        asked, _ = _turn(s, team.case_worker, datetime.now(UTC), "ja", "Volgende vraag")
        state = {"flow": "verzamelen", "step": 2, "answers": {}, "case_id": team.shared_case.id}
        sharing.tag_turn(s, asked.id, {"flow_state": state, "strategy": "quid_pro_quo"}, "affirm")
        tag = s.get(TurnTag, asked.id)
        assert tag is not None and tag.case_id == team.shared_case.id and tag.strategy is None
        assert tag.step is not None and tag.step.startswith("3/")
        chosen, _ = _turn(s, team.all_worker, datetime.now(UTC), "ze is wantrouwig", "Nut bewijzen")
        sharing.tag_turn(
            s, chosen.id, {"strategy": "nut_bewijzen", "situation_facts": None}, "describe_situation"
        )
        asking, _ = _turn(s, team.all_worker, datetime.now(UTC), "help kiezen", "Wat speelt er?")
        sharing.tag_turn(
            s, asking.id, {"strategy": "nut_bewijzen", "situation_facts": {"x": True}}, "ask_strategy"
        )
        assert s.get(TurnTag, chosen.id).strategy == "nut_bewijzen"  # type: ignore[union-attr]
        assert s.get(TurnTag, asking.id) is None  # still asking: nothing chosen in this turn


# --- the bot's side, in Telegram (the real PTB bot against the fake Bot API, no Rasa) --------


@pytest_asyncio.fixture
async def chat(tmp_path: Path) -> AsyncIterator[TelegramUser]:
    with FakeBotApi() as api:
        settings = make_settings(tmp_path, api, NO_RASA)
        async with running_bot(settings, api) as telegram_user:
            yield telegram_user


def _register(chat: TelegramUser, role: Role) -> User:
    with chat.db.session() as s:
        return _user(s, role, "Wijkteam Oost", chat.pseudonym, chat.user_id)


async def test_a_worker_chooses_what_to_share_with_delen_and_sees_it_in_privacy(chat: TelegramUser) -> None:
    worker = _register(chat, Role.WORKER)
    with chat.db.session() as s:
        s.add_all(
            [
                Case(owner=worker.pseudonym, label="cliënt A", flows={}),
                Case(owner=worker.pseudonym, label="cliënt B", flows={}),
            ]
        )
    commands = {c["command"] for c in chat.api.commands}
    assert {"delen", "team", "dashboard"} <= commands

    mark = await chat.send("/delen")
    question = await chat.answer_with("Wat mag je begeleider", after=mark)
    assert "Je deelt nu (de standaard van je team): niets" in question.params["text"]
    assert list(buttons_of(question)) == ["Alle gesprekken", "Per cliënt kiezen", "Niets"]
    mark = await chat.tap_title(question, "Per cliënt kiezen")
    picker = await chat.answer_with("Tik op een cliënt", after=mark)
    assert set(buttons_of(picker)) == {"cliënt A", "cliënt B", "Klaar"}
    mark = await chat.tap_title(picker, "cliënt A")
    picker = await chat.answer_with("Tik op een cliënt", after=mark)
    assert set(buttons_of(picker)) == {"✓ cliënt A", "cliënt B", "Klaar"}
    mark = await chat.tap_title(picker, "Klaar")
    await chat.answer_with("Je deelt nu: alleen de gesprekken over cliënt A", after=mark)

    mark = await chat.send("/privacy")
    privacy = await chat.answer_with("Zo ga ik om met je gegevens", after=mark)
    assert "Je deelt nu: alleen de gesprekken over cliënt A. Veranderen: /delen." in privacy.params["text"]
    assert "Niemand heeft je gesprekken bekeken." in privacy.params["text"]

    mark = await chat.send("/delen")
    question = await chat.answer_with("Wat mag je begeleider", after=mark)
    mark = await chat.tap_title(question, "Niets")
    await chat.answer_with("je begeleider ziet niets", after=mark)
    with chat.db.session() as s:
        assert sharing.shared(s, s.get(User, worker.id)).mode is ShareMode.NONE  # type: ignore[arg-type]

    for command in ("/dashboard", "/team"):  # for supervisors only
        mark = await chat.send(command)
        await chat.answer_with("alleen voor begeleiders", after=mark)


async def test_dashboard_sends_a_supervisor_a_fresh_one_time_link(chat: TelegramUser) -> None:
    _register(chat, Role.SUPERVISOR)
    mark = await chat.send("/dashboard")
    sent = await chat.answer_with("Je inloglink voor het dashboard", after=mark)
    assert "werkt één keer en 10 minuten lang" in sent.params["text"]
    token = sent.params["text"].split("/inloggen/", 1)[1].split()[0]
    with chat.db.session() as s:
        stored = s.scalar(select(LoginToken).where(LoginToken.token_hash == auth.digest(token)))
        assert stored is not None and stored.used_at is None
        assert timedelta(minutes=9) < stored.expires_at - datetime.now(UTC) <= timedelta(minutes=10)
    assert all(token not in (m.text or "") for m in chat.transcript())
    mark = await chat.send("/delen")
    await chat.answer_with("Delen is voor professionals", after=mark)


@pytest.mark.integration
async def test_a_strategy_recommended_by_rasa_is_tagged_on_the_turn(
    tmp_path: Path, rasa_stack: RasaStack
) -> None:
    """With the real Rasa: the turn that got a recommendation carries the strategy, and a
    supervisor's team overview counts it."""
    with FakeBotApi() as api:
        settings = make_settings(tmp_path, api, rasa_stack)
        async with running_bot(settings, api) as worker:
            await worker.register()
            mark = await worker.send("mevrouw is erg wantrouwig en doet de deur niet open")
            await worker.answer_with("Mijn voorstel: Nut bewijzen", after=mark)
            asked = next(m for m in reversed(worker.transcript()) if m.direction == Direction.IN.value)
            deadline = datetime.now(UTC) + timedelta(seconds=20)
            while True:  # the turn is labelled just after the answer went out
                with worker.db.session() as s:
                    tag = s.get(TurnTag, asked.id)
                if tag is not None or datetime.now(UTC) > deadline:
                    break
                await asyncio.sleep(0.2)
            assert tag is not None and tag.strategy == "nut_bewijzen"
            with worker.db.session() as s:
                me = s.get(User, worker.account().id)  # type: ignore[union-attr]
                assert me is not None
                sharing.set_mode(s, me, ShareMode.ALL)
                boss = _user(s, Role.SUPERVISOR, me.team.name, "boss")
                rows = queries.team_overview(scope_of(s, boss))
                assert dict(rows[0].strategies) == {"nut_bewijzen": 1}


def test_the_supervision_buttons_and_commands_reach_the_bot() -> None:
    from bot import inbound
    from bot.inbound import Local

    assert inbound.typed("/delen").payload == Local.SHARE
    assert inbound.typed("/team").payload == Local.TEAM
    assert inbound.typed("/dashboard@deuropener_bot").payload == Local.DASHBOARD
    assert inbound.tapped("bot:share:case:12", "✓ cliënt A").payload == "share:case:12"
    assert inbound.tapped("bot:feedback:reply:3", "Reageer").payload == "feedback:reply:3"
    assert inbound.tapped("bot:dashboard", "Open het dashboard").payload == "dashboard"
    assert inbound.tapped("bot:sharing:all", None).payload == Local.STALE_BUTTON
    assert inbound.tapped("bot:feedback_reply", None).payload == Local.STALE_BUTTON  # typed only
