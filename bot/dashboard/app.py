"""The dashboard's web app: Sanic (already in the app environment for the action server's
rasa-sdk, so no new dependency) with Jinja2 templates and one static stylesheet.

Pages are server-rendered HTML without JavaScript; every form carries the session's CSRF
token; every page sends a strict Content-Security-Policy and no-store caching. Each handler
is thin: it asks `Scope` (via `queries`) what the viewer may see and records the view in the
audit log. Nothing outside the scope is ever distinguished from "not found".
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse
from sqlalchemy.orm import Session

from bot import crypto
from bot.dashboard import audit, auth, feedback, queries
from bot.dashboard.scope import Scope, Viewer
from bot.db import Database
from bot.models import User
from bot.models.dashboard import WebSession
from bot.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "dp_session"
LOGIN_COOKIE = "dp_login"  # double-submit CSRF token of the sign-in form
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # sign-in links never leak through a Referer header
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

Handler = Callable[..., Awaitable[HTTPResponse]]
EXPORTS = ("csv", "json")


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda d: f"{d.astimezone(queries.TIMEZONE):%d-%m-%Y %H:%M}" if d else "–"
    env.filters["day"] = lambda d: f"{d.astimezone(queries.TIMEZONE):%d-%m-%Y}" if d else "–"
    env.filters["clock"] = lambda d: f"{d.astimezone(queries.TIMEZONE):%H:%M}" if d else ""
    return env


def create_app(settings: Settings, db: Database, name: str = "deuropener_dashboard") -> Sanic:
    app = Sanic(name)
    app.config.FALLBACK_ERROR_FORMAT = "html"
    templates = _templates()
    secure = (settings.dashboard_url or "").startswith("https://")
    app.static("/static", str(HERE / "static"), name="static")

    def page(template: str, status: int = 200, **values: Any) -> HTTPResponse:
        html = templates.get_template(template).render(
            flows=queries.flow_names(), strategies=queries.strategy_names(), **values
        )
        return response.html(html, status=status, headers=HEADERS)

    def refused(request: Request, status: int, title: str, text: str) -> HTTPResponse:
        web = getattr(request.ctx, "web", None)
        return page(
            "message.html",
            status=status,
            title=title,
            text=text,
            user=getattr(request.ctx, "user", None),
            csrf=web.csrf_token if web else "",
        )

    def not_found(request: Request) -> HTTPResponse:
        return refused(
            request,
            404,
            "Niet gevonden",
            "Deze pagina bestaat niet, of de professional deelt dit niet met je.",
        )

    def cookie(resp: HTTPResponse, name: str, value: str, max_age: int, path: str = "/") -> None:
        resp.cookies[name] = value
        resp.cookies[name]["httponly"] = True
        resp.cookies[name]["samesite"] = "Strict"
        resp.cookies[name]["max-age"] = max_age
        resp.cookies[name]["path"] = path
        if secure:
            resp.cookies[name]["secure"] = True

    def signed_in(handler: Handler) -> Handler:
        """Runs the handler with a database session, the signed-in user and their scope;
        POSTs must carry the session's CSRF token."""

        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            with db.session() as session:
                found = auth.current(session, request.cookies.get(SESSION_COOKIE))
                if found is None:
                    return refused(
                        request,
                        401,
                        "Log eerst in",
                        "Vraag in Telegram met /dashboard een inloglink aan; die werkt 10 minuten.",
                    )
                user, web = found
                request.ctx.user, request.ctx.web = user, web
                if request.method == "POST" and not auth.csrf_ok(web.csrf_token, request.form.get("csrf")):
                    return refused(
                        request,
                        403,
                        "Niet gelukt",
                        "Dit formulier is verlopen of kwam niet van deze site. Ga terug, laad de pagina "
                        "opnieuw en probeer het nog eens.",
                    )
                scope = Scope(session, Viewer.of(user))
                return await handler(request, session, scope, *args, **kwargs)

        return wrapper

    def common(request: Request) -> dict[str, Any]:
        web: WebSession = request.ctx.web
        return {"user": request.ctx.user, "csrf": web.csrf_token}

    # --- sign-in ---------------------------------------------------------------------------

    @app.get("/inloggen/<token:str>")
    async def login_page(request: Request, token: str) -> HTTPResponse:
        with db.session() as session:
            valid = auth.link_token(session, token) is not None
        if not valid:
            return refused(
                request,
                410,
                "Deze link werkt niet meer",
                "Een inloglink werkt één keer en 10 minuten lang. Vraag in Telegram met /dashboard "
                "een nieuwe aan.",
            )
        check = secrets.token_urlsafe(24)
        resp = page("login.html", csrf=check, token=token)
        cookie(resp, LOGIN_COOKIE, check, 600, path="/inloggen")
        return resp

    @app.post("/inloggen/<token:str>")
    async def login(request: Request, token: str) -> HTTPResponse:
        if not auth.csrf_ok(request.cookies.get(LOGIN_COOKIE), request.form.get("csrf")):
            return refused(request, 403, "Niet gelukt", "Open de inloglink opnieuw en klik op Inloggen.")
        with db.session() as session:
            target = auth.link_token(session, token)
            where = target.target if target else "/"
            started = auth.redeem(session, token, settings.dashboard_session_hours)
        if started is None:
            return refused(
                request,
                410,
                "Deze link werkt niet meer",
                "Een inloglink werkt één keer en 10 minuten lang. Vraag in Telegram met /dashboard "
                "een nieuwe aan.",
            )
        value, _ = started
        resp = response.redirect(auth.safe_target(where), status=303, headers=HEADERS)
        cookie(resp, SESSION_COOKIE, value, int(settings.dashboard_session_hours * 3600))
        resp.cookies[LOGIN_COOKIE] = ""
        resp.cookies[LOGIN_COOKIE]["max-age"] = 0
        resp.cookies[LOGIN_COOKIE]["path"] = "/inloggen"
        return resp

    @app.post("/uitloggen")
    @signed_in
    async def logout(request: Request, session: Session, scope: Scope) -> HTTPResponse:
        auth.end(session, request.cookies.get(SESSION_COOKIE))
        resp = page("message.html", title="Uitgelogd", text="Je bent uitgelogd. Tot ziens!", user=None)
        resp.cookies[SESSION_COOKIE] = ""
        resp.cookies[SESSION_COOKIE]["max-age"] = 0
        return resp

    # --- pages -----------------------------------------------------------------------------

    @app.get("/")
    @signed_in
    async def team(request: Request, session: Session, scope: Scope) -> HTTPResponse:
        user: User = request.ctx.user
        if not scope.viewer.supervisor:
            return response.redirect(f"/medewerker/{user.id}", status=303, headers=HEADERS)
        rows = queries.team_overview(scope)
        audit.record(session, user, "view_team", f"team {user.team.name}")
        return page("team.html", rows=rows, **common(request))

    @app.get("/medewerker/<worker_id:int>")
    @signed_in
    async def worker(request: Request, session: Session, scope: Scope, worker_id: int) -> HTTPResponse:
        person = scope.worker(worker_id)
        if person is None:
            return not_found(request)
        filters = queries.Filters.parse({k: request.args.get(k, "") for k in request.args})
        found = queries.conversations(scope, person, filters)
        all_found = found if filters == queries.Filters() else queries.conversations(scope, person)
        cases = scope.cases(person)
        reflected = {r.case_id for r in scope.reflections(person)}
        charts = [c for c in cases if c.id in reflected]
        audit.record(
            session, request.ctx.user, "view_worker", f"gesprekken ({filters.describe()})", person.id
        )
        return page(
            "worker.html",
            worker=person,
            shared=scope.shared(person),
            conversations=found,
            filters=filters,
            query=urlencode(filters.as_args()),
            flow_options=sorted({f for c in all_found for f in c.flows}),
            strategy_options=sorted({s for c in all_found for s in c.strategies}),
            cases=cases,
            charts=charts,
            **common(request),
        )

    @app.get("/medewerker/<worker_id:int>/client/<case_id:int>/grafiek.png")
    @signed_in
    async def chart(
        request: Request, session: Session, scope: Scope, worker_id: int, case_id: int
    ) -> HTTPResponse:
        from bot import chart as charts

        person = scope.worker(worker_id)
        case = next((c for c in scope.cases(person) if c.id == case_id), None) if person else None
        if person is None or case is None:
            return not_found(request)
        history = [(r.created_at, r.scores) for r in scope.reflections(person) if r.case_id == case_id]
        if not history:
            return not_found(request)
        audit.record(session, request.ctx.user, "view_chart", f"werkrelatie {case.label}", person.id)
        return response.raw(charts.render(case.label, history), content_type="image/png", headers=HEADERS)

    @app.get("/medewerker/<worker_id:int>/export/<fmt:str>")
    @signed_in
    async def export_many(
        request: Request, session: Session, scope: Scope, worker_id: int, fmt: str
    ) -> HTTPResponse:
        person = scope.worker(worker_id)
        if person is None or fmt not in EXPORTS:
            return not_found(request)
        filters = queries.Filters.parse({k: request.args.get(k, "") for k in request.args})
        found = queries.conversations(scope, person, filters)
        what = f"gesprekken ({filters.describe()})"
        return _export(
            session, request.ctx.user, scope, fmt, f"gesprekken-{person.id}", found, what, person.id
        )

    @app.get("/gesprek/<message_id:int>")
    @signed_in
    async def conversation(request: Request, session: Session, scope: Scope, message_id: int) -> HTTPResponse:
        found = queries.transcript(scope, message_id)
        if found is None:
            return not_found(request)
        printing = request.args.get("afdruk") == "1"
        comments = scope.comments(t.message.id for t in found.turns)
        audit.record(
            session,
            request.ctx.user,
            "print" if printing else "view_transcript",
            f"gesprek {found.id} van {found.start.astimezone(queries.TIMEZONE):%d-%m-%Y %H:%M}",
            found.worker.id,
        )
        return page(
            "transcript.html",
            conversation=found,
            comments_by_message=_by_message(comments),
            printing=printing,
            error=request.args.get("fout"),
            **common(request),
        )

    @app.get("/gesprek/<message_id:int>/export/<fmt:str>")
    @signed_in
    async def export_one(
        request: Request, session: Session, scope: Scope, message_id: int, fmt: str
    ) -> HTTPResponse:
        found = queries.transcript(scope, message_id)
        if found is None or fmt not in EXPORTS:
            return not_found(request)
        what = f"gesprek {found.id}"
        return _export(
            session, request.ctx.user, scope, fmt, f"gesprek-{found.id}", [found], what, found.worker.id
        )

    @app.post("/gesprek/<message_id:int>/feedback")
    @signed_in
    async def comment(request: Request, session: Session, scope: Scope, message_id: int) -> HTTPResponse:
        turn = request.form.get("beurt", "")
        about = int(turn) if turn.isdigit() else message_id
        try:
            placed = feedback.add_comment(
                scope, request.ctx.user, about, request.form.get("tekst", ""), about_turn=turn.isdigit()
            )
        except feedback.CommentRefused as exc:
            if scope.message(about) is None:
                return not_found(request)
            query = urlencode({"fout": str(exc)})
            return response.redirect(
                f"/gesprek/{message_id}?{query}#bericht-{about}", status=303, headers=HEADERS
            )
        audit.record(session, request.ctx.user, "comment", f"feedback op bericht {about}", placed.worker_id)
        return response.redirect(
            f"/gesprek/{message_id}#bericht-{placed.message_id}", status=303, headers=HEADERS
        )

    @app.exception(Exception)
    async def on_error(request: Request, exc: Exception) -> HTTPResponse:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            return not_found(request)
        if status >= 500:
            log.exception("Dashboard error", exc_info=exc)
        return refused(request, status, "Er ging iets mis", "Probeer het zo nog eens.")

    return app


def _by_message(comments: list[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for c in comments:
        grouped.setdefault(c.message_id, []).append(c)
    return grouped


def _export(
    session: Session,
    viewer: User,
    scope: Scope,
    fmt: str,
    name: str,
    found: list[queries.Conversation],
    what: str,
    worker_id: int,
) -> HTTPResponse:
    """The conversations as a CSV or JSON download; recorded in the audit log."""
    audit.record(session, viewer, f"export_{fmt}", what, worker_id)
    rows = queries.export_rows(found)
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return response.text(queries.as_csv(rows), headers=headers, content_type="text/csv; charset=utf-8")
    comments = scope.comments(r["bericht"] for r in rows)
    body = {"gesprekken": sorted({r["gesprek"] for r in rows}), "berichten": rows}
    body["feedback"] = queries.comment_rows(comments)
    return response.raw(
        json.dumps(body, ensure_ascii=False, indent=2).encode(),
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def main() -> int:
    """`python -m bot.dashboard`: serve the dashboard on DASHBOARD_HOST:DASHBOARD_PORT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = Settings.from_env()
    crypto.configure_from(settings)  # the data keys, as the bot uses them
    db = Database(settings.database_url)
    db.migrate()
    try:
        crypto.verify(db.engine)  # keys that can't read the stored data: don't serve
    except crypto.DataKeyError as exc:
        log.error("%s", exc)
        return 1
    app = create_app(settings, db)
    log.info("Dashboard on http://%s:%s", settings.dashboard_host, settings.dashboard_port)
    app.run(
        host=settings.dashboard_host,
        port=settings.dashboard_port,
        access_log=False,
        motd=False,
        workers=1,
    )
    return 0


__all__ = ["create_app", "main"]
