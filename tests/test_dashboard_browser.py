"""The dashboard in a real browser: Playwright drives Debian's Chromium (headless) against the
dashboard server (`python -m bot.dashboard`, as `make run` starts it) on 127.0.0.1.

From Telegram to feedback: /dashboard in the real bot (fake Bot API) gives a link, the
browser signs in, searches, opens a transcript, comments on a turn; the worker receives it
in Telegram, taps "Reageer", replies, and the reply shows on the dashboard. Then every
refused path: expired and reused links, no cookie, another team's ids, an unshared case,
missing or wrong CSRF tokens. Screenshots of the main pages go to results/screenshots/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from bot.dashboard import auth
from bot.db import Database
from bot.models import User
from bot.models.dashboard import AuditEntry, Comment
from tests.bot_harness import TelegramUser, buttons_of, make_settings, running_bot
from tests.conftest import free_port
from tests.fake_bot_api import FakeBotApi
from tests.test_dashboard import DATA_KEY, NO_RASA, Team, seed, use_test_key

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "results" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=nl-NL",
]

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed: run `make browser`"
)


@dataclass
class Dashboard:
    url: str
    db: Database
    data_dir: Path


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """The dashboard server as `make run` starts it, on its own SQLite database."""
    work = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DEUROPENER_DATA_DIR": str(work),
        "DATABASE_URL": f"sqlite:///{work / 'app.db'}",
        "DEUROPENER_DATA_KEYS": DATA_KEY,
        "DASHBOARD_HOST": "127.0.0.1",
        "DASHBOARD_PORT": str(port),
    }
    log = (work / "dashboard.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.dashboard"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/static/dashboard.css", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((work / "dashboard.log").read_text()[-3000:])
        time.sleep(0.3)
    db = Database(env["DATABASE_URL"])
    try:
        yield Dashboard(url, db, work)
    finally:
        db.dispose()
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(autouse=True)
def data_key(monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_key(monkeypatch)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


async def new_page(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="nl-NL")
    return await context.new_page()


def link_for(dashboard: Dashboard, user: User, target: str = "/", minutes_ago: float = 0) -> str:
    with dashboard.db.session() as session:
        at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        token = auth.create_link_token(session, session.get(User, user.id) or user, target, at=at)
    return f"{dashboard.url}/inloggen/{token}"


async def sign_in(page: Page, link: str) -> None:
    await page.goto(link)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Inloggen").click()


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def audit_actions(dashboard: Dashboard, actor: User) -> list[str]:
    with dashboard.db.session() as session:
        return [e.action for e in session.query(AuditEntry).filter(AuditEntry.actor_id == actor.id)]


# --- from Telegram to feedback and back -----------------------------------------------------


async def test_from_telegram_to_a_transcript_and_feedback_that_reaches_the_worker(
    dashboard: Dashboard, browser: Browser, tmp_path: Path
) -> None:
    with FakeBotApi() as api:
        settings = make_settings(
            tmp_path, api, NO_RASA, database_url=dashboard.db.url, dashboard_url=dashboard.url
        )
        async with running_bot(settings, api) as supervisor_chat:
            worker_chat = TelegramUser(api, supervisor_chat.db, settings, supervisor_chat.user_id + 1)
            team = seed(dashboard.db, worker_chat.user_id, worker_chat.pseudonym, plain_names=True)
            with dashboard.db.session() as session:
                sup = session.get(User, team.supervisor.id)
                assert sup is not None
                sup.pseudonym, sup.chat_id = supervisor_chat.pseudonym, supervisor_chat.user_id

            # /team: a short overview with a button to the dashboard; the button sends the link.
            mark = await supervisor_chat.send("/team")
            overview = await supervisor_chat.answer_with("de laatste 30 dagen", after=mark)
            assert "3 professionals, 2 delen gesprekken met je" in overview.params["text"]
            assert "Nut bewijzen (1)" in overview.params["text"]
            mark = await supervisor_chat.tap_title(overview, "Open het dashboard")
            sent = await supervisor_chat.answer_with("inloglink voor het dashboard", after=mark)
            link = re.search(r"http://\S+/inloggen/\S+", sent.params["text"])
            assert link is not None
            token = link.group(0).rsplit("/", 1)[1]
            stored = "\n".join(m.text or "" for m in supervisor_chat.transcript())
            assert token not in stored  # the transcript keeps no usable link

            page = await new_page(browser)
            await page.goto(link.group(0))
            await shot(page, "1-inloggen")
            await page.get_by_role("button", name="Inloggen").click()
            await page.wait_for_url(f"{dashboard.url}/")
            cookie = next(c for c in await page.context.cookies() if c["name"] == "dp_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > time.time()
            await page.get_by_role("heading", name=re.compile("Team Wijkteam Noord")).wait_for()
            rows = page.locator("table.overview tbody tr")
            assert await rows.count() == 3
            assert "Nut bewijzen × 1" in await rows.nth(0).inner_text()
            assert "niets" in await rows.nth(2).inner_text()
            await shot(page, "2-team")
            await page.set_viewport_size({"width": 768, "height": 1024})  # a tablet, upright
            await shot(page, "2-team-tablet")
            await page.set_viewport_size({"width": 1280, "height": 900})

            # The worker's conversations: search, filter, open one.
            await page.get_by_role("link", name=f"Professional {team.all_worker.id}").click()
            await page.get_by_role("heading", name=re.compile("Gesprekken van")).wait_for()
            assert await page.locator("table.conversations tbody tr").count() == 2
            await page.get_by_label("Zoek in tekst").fill("deur")
            async with page.expect_navigation():
                await page.get_by_role("button", name="Filter").click()
            assert "zoek=deur" in page.url
            assert await page.locator("table.conversations tbody tr").count() == 1
            await shot(page, "3-gesprekken-gezocht")
            await page.locator("table.conversations tbody tr a").first.click()
            await page.get_by_role("heading", name=re.compile("Gesprek van")).wait_for()
            await shot(page, "4-transcript")
            chat = page.locator("ol.chat")
            assert "mevrouw doet de deur niet open" in await chat.inner_text()
            unsure = page.locator(f"#bericht-{team.messages['unsure'].id}")
            assert "lage zekerheid 41%" in await unsure.inner_text()
            assert "terugval" in await page.locator(f"#bericht-{team.messages['fallback'].id}").inner_text()
            assert await page.locator(".flowmark").count() == 2  # strategy, then core

            # Feedback on one turn; it goes to the worker in Telegram.
            turn = page.locator(f"#bericht-{team.messages['door'].id}")
            await turn.get_by_text("Feedback op dit bericht").click()
            mark = api.mark()
            await turn.get_by_role("textbox").fill("Goed dat je eerst vroeg wat er speelt.")
            async with page.expect_navigation():
                await turn.get_by_role("button", name="Stuur naar de professional").click()
            assert "Goed dat je eerst vroeg" in await turn.inner_text()
            notice = await worker_chat.answer_with("Je begeleider gaf feedback", after=mark, timeout=40)
            assert notice.params["chat_id"] == worker_chat.user_id
            assert "mevrouw doet de deur niet open" in notice.params["text"]
            assert set(buttons_of(notice)) == {"Bekijk het moment", "Reageer"}

            # The link back to the moment: a one-time link for the worker to their own transcript.
            mark = await worker_chat.tap_title(notice, "Bekijk het moment")
            own = await worker_chat.answer_with("inloglink", after=mark)
            own_link = re.search(r"http://\S+/inloggen/\S+", own.params["text"])
            assert own_link is not None
            worker_page = await new_page(browser, 1024, 768)  # a tablet
            await sign_in(worker_page, own_link.group(0))
            assert worker_page.url.endswith(f"#bericht-{team.messages['door'].id}")
            assert "Goed dat je eerst vroeg" in await worker_page.locator("ol.chat").inner_text()
            assert (
                await worker_page.get_by_text("Feedback op dit bericht").count() == 0
            )  # workers don't comment
            await shot(worker_page, "5-moment-voor-professional")

            # One reply: "Reageer", then the next message.
            mark = await worker_chat.tap_title(own, "Reageer")  # offered again under the link
            await worker_chat.answer_with("Typ je reactie", after=mark)
            mark = await worker_chat.send("Dank je, ik ga morgen weer langs.")
            await worker_chat.answer_with("je reactie staat nu bij je begeleider", after=mark)
            await page.reload()
            assert "Dank je, ik ga morgen weer langs." in await turn.inner_text()
            await shot(page, "6-transcript-met-reactie")

            # Export: the transcript as CSV and JSON, and a print-friendly page.
            csv_href = await page.get_by_role("link", name="CSV").get_attribute("href")
            csv_answer = await page.request.get(dashboard.url + (csv_href or ""))
            assert csv_answer.headers["content-disposition"].startswith("attachment")
            csv_text = await csv_answer.text()
            assert csv_text.startswith("gesprek,bericht,tijd,van,tekst") and "deur niet open" in csv_text
            json_href = await page.get_by_role("link", name="JSON").get_attribute("href")
            exported = await (await page.request.get(dashboard.url + (json_href or ""))).json()
            assert exported["feedback"][0]["reactie"] == "Dank je, ik ga morgen weer langs."
            assert len(exported["berichten"]) == 6
            await page.get_by_role("link", name="Afdrukversie").click()
            await page.emulate_media(media="print")
            assert not await page.locator("form").first.is_visible()
            await shot(page, "7-afdrukversie")
            await page.emulate_media(media="screen")

            # /privacy tells the worker who viewed their transcripts.
            mark = await worker_chat.send("/privacy")
            privacy = await worker_chat.answer_with("Wie je gesprekken bekeek", after=mark)
            assert f"begeleider nr. {team.supervisor.id}" in privacy.params["text"]
            assert "Je deelt nu: alle gesprekken" in privacy.params["text"]

    actions = audit_actions(dashboard, team.supervisor)
    for action in (
        "team_telegram",
        "view_team",
        "view_worker",
        "view_transcript",
        "comment",
        "export_csv",
        "export_json",
        "print",
    ):
        assert action in actions


# --- refused paths -----------------------------------------------------------------------


@pytest_asyncio.fixture
async def team(dashboard: Dashboard) -> Team:
    return seed(dashboard.db)


async def test_expired_and_reused_links_do_not_sign_in(
    dashboard: Dashboard, browser: Browser, team: Team
) -> None:
    page = await new_page(browser)
    await page.goto(link_for(dashboard, team.supervisor, minutes_ago=11))
    await page.get_by_role("heading", name="Deze link werkt niet meer").wait_for()
    await shot(page, "8-link-verlopen")
    link = link_for(dashboard, team.supervisor)
    await sign_in(page, link)
    await page.get_by_role("heading", name=re.compile("Team")).wait_for()
    other = await new_page(browser)  # someone else with the same link, later
    response = await other.goto(link)
    assert response is not None and response.status == 410
    assert not [c for c in await other.context.cookies() if c["name"] == "dp_session"]


async def test_no_cookie_no_page(dashboard: Dashboard, browser: Browser, team: Team) -> None:
    page = await new_page(browser)
    for path in (
        "/",
        f"/medewerker/{team.all_worker.id}",
        f"/gesprek/{team.messages['door'].id}",
        f"/gesprek/{team.messages['door'].id}/export/csv",
    ):
        response = await page.goto(dashboard.url + path)
        assert response is not None and response.status == 401, path
        assert "deur" not in await page.content()
    await page.get_by_role("heading", name="Log eerst in").wait_for()


async def test_other_teams_and_unshared_ids_are_not_found(
    dashboard: Dashboard, browser: Browser, team: Team
) -> None:
    page = await new_page(browser)
    await sign_in(page, link_for(dashboard, team.other_supervisor))
    m = team.messages
    for path in (
        f"/medewerker/{team.all_worker.id}",
        f"/medewerker/{team.all_worker.id}/export/json",
        f"/gesprek/{m['door'].id}",
        f"/gesprek/{m['door'].id}/export/csv",
        f"/medewerker/{team.case_worker.id}/client/{team.shared_case.id}/grafiek.png",
    ):
        response = await page.goto(dashboard.url + path)
        assert response is not None and response.status == 404, path
        assert "deur niet open" not in await page.content()
    await shot(page, "9-niet-gedeeld")

    # This team's supervisor: the unshared case and the worker who shares nothing stay hidden.
    await sign_in(page, link_for(dashboard, team.supervisor))
    for path in (
        f"/gesprek/{m['case_b'].id}",
        f"/gesprek/{m['no_case'].id}",
        f"/gesprek/{m['none'].id}",
        f"/medewerker/{team.case_worker.id}/client/{team.unshared_case.id}/grafiek.png",
    ):
        response = await page.goto(dashboard.url + path)
        assert response is not None and response.status == 404, path
    response = await page.goto(f"{dashboard.url}/gesprek/{m['case_a'].id}")
    assert response is not None and response.status == 200
    content = await page.locator("ol.chat").inner_text()
    assert "cliënt A wil niet praten" in content and "cliënt B" not in content and "hoi" not in content
    exported = await (
        await page.request.get(f"{dashboard.url}/medewerker/{team.case_worker.id}/export/json")
    ).json()
    assert [r["tekst"] for r in exported["berichten"]] == [
        "cliënt A wil niet praten",
        "Begin met wat A belangrijk vindt.",
    ]
    # The relationship chart of the shared case is there.
    await page.goto(f"{dashboard.url}/medewerker/{team.case_worker.id}")
    chart = page.get_by_role("img", name=re.compile("Werkrelatie met cliënt A"))
    await chart.wait_for()
    assert await chart.evaluate("img => img.naturalWidth") > 500
    await shot(page, "10-gesprekken-per-client")


async def test_forms_need_the_sessions_csrf_token(dashboard: Dashboard, browser: Browser, team: Team) -> None:
    page = await new_page(browser)
    await sign_in(page, link_for(dashboard, team.supervisor))
    target = f"{dashboard.url}/gesprek/{team.messages['door'].id}/feedback"
    missing = await page.request.post(target, form={"tekst": "zonder token"})
    wrong = await page.request.post(target, form={"tekst": "fout token", "csrf": "raden"})
    assert (missing.status, wrong.status) == (403, 403)
    await page.goto(f"{dashboard.url}/gesprek/{team.messages['door'].id}")
    token = await page.locator("input[name=csrf]").first.get_attribute("value")
    right = await page.request.post(target, form={"tekst": "met token", "csrf": token or ""}, max_redirects=0)
    assert right.status == 303
    with dashboard.db.session() as session:
        texts = [c.text for c in session.query(Comment).filter(Comment.worker_id == team.all_worker.id)]
    assert texts == ["met token"]
    # Signing out ends the session: the cookie no longer opens anything.
    await page.get_by_role("button", name="Uitloggen").click()
    await page.get_by_role("heading", name="Uitgelogd").wait_for()
    response = await page.goto(f"{dashboard.url}/")
    assert response is not None and response.status == 401
    # The sign-in form checks its own token too (a cookie set by the link page).
    link = link_for(dashboard, team.supervisor)
    forged = await browser.new_context()
    response = await forged.request.post(link, form={"csrf": "x"})
    assert response.status == 403
