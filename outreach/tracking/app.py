"""The tracking web app: RSVP pages, tracked links, unsubscribes, SendGrid events, admin.

```python
from outreach.tracking.app import create_app
app = create_app(settings)        # uvicorn.run(app, host="127.0.0.1", port=8000)
```

Routes: `GET /r/{token}?to=URL` (click, then redirect to a URL the campaign owns),
`GET|POST /rsvp/{token}` and `GET /rsvp/{token}/thanks`, `GET|POST /u/{token}` (page and
RFC 8058 one-click), `POST /webhooks/sendgrid`, `GET /healthz`, `/admin` (behind
`settings.admin_token`). A forged or altered token is a 404 page that says nothing about
any campaign. Every response is committed to the store before the app answers.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import select, text
from starlette.concurrency import run_in_threadpool

from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Campaign, Delivery, ResponseEvent
from outreach.tracking import _deps
from outreach.tracking.admin import admin_counts
from outreach.tracking.events import (
    BARRIERS,
    HEARD_VIA,
    MAX_PARTY,
    MAX_TEXT,
    RsvpAnswer,
    insert_events,
    record_click,
    record_rsvp,
    record_scan,
    record_unsubscribe,
)
from outreach.tracking.pages import CampaignView, Pages
from outreach.tracking.tokens import BadToken, TokenPayload, TokenSigner
from outreach.tracking.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    WebhookVerifier,
    map_events,
)

_SUBMISSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_PRINT_CHANNELS = {"flyer", "partner_pack", "radio"}
_ADMIN_COOKIE = "outreach_admin"
_HEADERS = {
    # Pages have no scripts; tokens in URLs must not leak to the map or meeting site.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class _Tracker:
    """Per-app state: the store, the token signer, the pages and the webhook verifier."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.signer = TokenSigner(settings.secret_key_value())
        self.pages = Pages(store, region=settings.phone_region)
        key = settings.sendgrid_webhook_public_key.strip()
        self.verifier = WebhookVerifier(key) if key else None
        admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
        self.admin_token = admin
        self.admin_signer = TimestampSigner(settings.secret_key_value(), salt="outreach.admin")

    def payload(self, token: str) -> tuple[TokenPayload, CampaignView] | None:
        try:
            payload = self.signer.verify(token)
        except BadToken:
            return None
        view = self.pages.campaign(payload.campaign)
        if view is None:
            return None
        return payload, view

    def html(
        self, template: str, lang: str, view: CampaignView | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        body = self.pages.render(template, lang, view, **context)
        return HTMLResponse(body, status_code=status, headers=_HEADERS)

    def not_found(self, lang: str = "en") -> HTMLResponse:
        return self.html("error.html", lang, None, status=404)


def _empty_form() -> dict[str, Any]:
    return {
        "answer": "",
        "party_size": "1",
        "access_needs": "",
        "heard_via": "",
        "groups": {},
        "barriers": [],
        "barrier_text": "",
    }


def _parse_rsvp(form: Any, view: CampaignView) -> tuple[dict[str, Any], dict[str, str]]:
    """The submitted values (to show again) and errors keyed by the field's HTML id."""
    values = _empty_form()
    errors: dict[str, str] = {}
    values["answer"] = str(form.get("answer", "")).strip()
    if values["answer"] not in ("yes", "no", "maybe"):
        errors["answer_yes"] = "answer"
    values["party_size"] = str(form.get("party_size", "1")).strip() or "1"
    try:
        size = int(values["party_size"])
        if not 1 <= size <= MAX_PARTY:
            raise ValueError
    except ValueError:
        errors["party_size"] = "party_size"
    values["access_needs"] = str(form.get("access_needs", ""))[:MAX_TEXT]
    values["barrier_text"] = str(form.get("barrier_text", ""))[:MAX_TEXT]
    heard = str(form.get("heard_via", ""))
    values["heard_via"] = heard if heard in HEARD_VIA else ""
    values["barriers"] = [b for b in form.getlist("barriers") if b in BARRIERS]
    allowed = view.group_values()
    for dimension in view.dimensions:
        chosen = str(form.get(f"group_{dimension.name}", ""))
        if chosen and f"{dimension.name}:{chosen}" in allowed:
            values["groups"][dimension.name] = chosen
    return values, errors


def create_app(settings: Settings, *, store: Store | None = None, source: str = "web") -> FastAPI:
    """The tracking app over the work directory's store (migrated to the newest schema).

    `store` reuses an open store; `source` labels what this app records (the demo's
    simulator runs its own in-process app with `source="simulated"`).
    """
    if store is None:
        settings.ensure_workdir()
        store = Store(settings.database_url)
        store.upgrade()
    tracker = _Tracker(settings, store)
    app = FastAPI(title="Outreach tracking", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.tracker = tracker
    # The RSVP page is ~9 kB of HTML; gzip makes it ~3 kB on a slow mobile connection.
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # any database failure means "not healthy"
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    # -- tracked links ---------------------------------------------------------------
    def _allowed_target(target: str, token: str, view: CampaignView) -> bool:
        if target in view.owned_urls():
            return True
        base = settings.public_url.rstrip("/")
        for prefix in (f"{base}/rsvp/", "/rsvp/"):
            if target.startswith(prefix):
                other = target[len(prefix) :]
                try:
                    return tracker.signer.verify(other).campaign == view.id
                except BadToken:
                    return False
        return False

    @app.get("/r/{token}")
    def click(token: str, to: str | None = None) -> Any:
        found = tracker.payload(token)
        if found is None:
            return tracker.not_found()
        payload, view = found
        target = to or f"/rsvp/{token}"
        if not _allowed_target(target, token, view):
            # Not a URL this campaign owns: never redirect (no open redirect), record nothing.
            return tracker.html("error.html", payload.language, None, status=400)
        record_click(store, payload, target=target, source=source)
        return RedirectResponse(target, status_code=302, headers=_HEADERS)

    # -- RSVP ------------------------------------------------------------------------
    def _rsvp_page(
        token: str,
        payload: TokenPayload,
        view: CampaignView,
        *,
        form: Any,
        errors: dict[str, str],
        status: int,
    ) -> HTMLResponse:
        return tracker.html(
            "rsvp.html",
            payload.language,
            view,
            status=status,
            form=form,
            errors=errors,
            action=f"/rsvp/{token}",
            submission_id=uuid.uuid4().hex,
            heard_via=HEARD_VIA,
            barriers=BARRIERS,
            dimensions=view.dimensions,
            max_party=MAX_PARTY,
            max_text=MAX_TEXT,
        )

    @app.get("/rsvp/{token}")
    def rsvp_form(token: str, request: Request) -> HTMLResponse:
        found = tracker.payload(token)
        if found is None:
            return tracker.not_found()
        payload, view = found
        if request.method == "GET":  # a HEAD (link checkers) is not a visit
            # An email's RSVP button links here directly: opening it is the email's click.
            # Flyers, radio and partner packs reach it by QR code or typed URL: a scan.
            if payload.channel == "email":
                record_click(store, payload, target="rsvp", source=source)
            else:
                kind = "scan" if payload.channel in _PRINT_CHANNELS else "visit"
                record_scan(store, payload, kind=kind, source=source)
        return _rsvp_page(token, payload, view, form=_empty_form(), errors={}, status=200)

    @app.post("/rsvp/{token}")
    async def rsvp_submit(token: str, request: Request) -> Any:
        found = tracker.payload(token)
        if found is None:
            return tracker.not_found()
        payload, view = found
        form = await request.form()
        values, errors = _parse_rsvp(form, view)
        if errors:
            return _rsvp_page(token, payload, view, form=values, errors=errors, status=400)
        submission = str(form.get("submission_id", ""))
        if not _SUBMISSION.match(submission):
            submission = uuid.uuid4().hex
        answer = RsvpAnswer(
            answer=values["answer"],
            party_size=int(values["party_size"]),
            access_needs=values["access_needs"],
            heard_via=values["heard_via"],
            self_groups=[f"{d}:{v}" for d, v in values["groups"].items()],
            barriers=values["barriers"],
            barrier_text=values["barrier_text"],
        )
        await run_in_threadpool(
            record_rsvp, store, payload, answer, submission_id=submission, source=source
        )
        # Post/Redirect/Get: a reload of the thank-you page never re-submits.
        query = urlencode({"s": submission})
        return RedirectResponse(f"/rsvp/{token}/thanks?{query}", status_code=303)

    @app.get("/rsvp/{token}/thanks")
    def rsvp_thanks(token: str, s: str = "") -> HTMLResponse:
        found = tracker.payload(token)
        if found is None:
            return tracker.not_found()
        payload, view = found
        answer, barriers = "", []  # unknown submission: a neutral thank-you
        if _SUBMISSION.match(s):
            with store.session() as session:
                event = session.scalars(
                    select(ResponseEvent).where(ResponseEvent.external_id == f"rsvp:{view.id}:{s}")
                ).first()
                if event is not None:
                    answer = event.answer or ""
                    barriers = list((event.data or {}).get("barriers", []))
        replies = [(b, view.barrier_answers[b]) for b in barriers if b in view.barrier_answers]
        return tracker.html(
            "thanks.html",
            payload.language,
            view,
            answer=answer,
            replies=replies,
            again=f"/rsvp/{token}",
        )

    # -- unsubscribe -----------------------------------------------------------------
    @app.get("/u/{token}")
    def unsubscribe_page(token: str) -> HTMLResponse:
        found = tracker.payload(token)
        if found is None:
            return tracker.not_found()
        payload, view = found
        return tracker.html(
            "unsubscribe.html",
            payload.language,
            view,
            done=False,
            personal=payload.delivery is not None,
            organisation=view.organisation,
            action=f"/u/{token}",
        )

    @app.post("/u/{token}")
    async def unsubscribe(token: str, request: Request) -> Any:
        found = tracker.payload(token)
        if found is None:
            return tracker.not_found()
        payload, view = found
        form = await request.form()
        one_click = form.get("List-Unsubscribe") == "One-Click"
        done = await run_in_threadpool(record_unsubscribe, store, payload, source=source)
        if one_click:
            # RFC 8058: the mail client only needs a 2xx, and gets it after the commit.
            if not done:
                return PlainTextResponse("not a personal link", status_code=400)
            return PlainTextResponse("unsubscribed", headers=_HEADERS)
        return tracker.html(
            "unsubscribe.html",
            payload.language,
            view,
            status=200 if done else 400,
            done=done,
            personal=payload.delivery is not None,
            organisation=view.organisation,
            action=f"/u/{token}",
        )

    # -- SendGrid --------------------------------------------------------------------
    def _store_webhook(events: Any) -> dict[str, int]:
        rows, suppressions, ignored = map_events(events, tracker.signer)
        campaign_ids = {row["campaign_id"] for row in rows}
        with store.session() as session:
            known = set(session.scalars(select(Campaign.id).where(Campaign.id.in_(campaign_ids))))
        kept = [row for row in rows if row["campaign_id"] in known]
        ignored += len(rows) - len(kept)
        # insert_events checks each delivery against the ledger and adds its contact.
        stored = insert_events(store, kept)
        # Suppressions are rare (bounces, complaints): look their contacts up one by one.
        for wanted in suppressions:
            if wanted.campaign_id not in known:
                continue
            contact_pk = None
            if wanted.delivery_id is not None:
                with store.session() as session:
                    contact_pk = session.scalar(
                        select(Delivery.contact_pk).where(
                            Delivery.id == wanted.delivery_id,
                            Delivery.campaign_id == wanted.campaign_id,
                        )
                    )
            if contact_pk is None and not wanted.email:
                continue
            _deps.suppress(
                store,
                reason=wanted.reason,
                source="sendgrid",
                contact_pk=contact_pk,
                email=wanted.email,
                campaign_id=wanted.campaign_id,
            )
        return {"stored": stored, "duplicates": len(kept) - stored, "ignored": ignored}

    @app.post("/webhooks/sendgrid")
    async def sendgrid_webhook(request: Request) -> JSONResponse:
        if tracker.verifier is None:
            return JSONResponse({"error": "not configured"}, status_code=404)
        body = await request.body()
        try:
            tracker.verifier.verify(
                body, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
            )
            try:
                events = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise WebhookRejected(400, "body is not JSON") from None
            counts = await run_in_threadpool(_store_webhook, events)
        except WebhookRejected as rejected:
            return JSONResponse({"error": rejected.reason}, status_code=rejected.status)
        return JSONResponse(counts)

    # -- admin -----------------------------------------------------------------------
    def _is_admin(request: Request) -> bool:
        wanted = tracker.admin_token
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and hmac.compare_digest(
            header[7:].strip().encode(), wanted.encode()
        ):
            return True
        cookie = request.cookies.get(_ADMIN_COOKIE, "")
        try:
            tracker.admin_signer.unsign(cookie, max_age=12 * 3600)
        except BadSignature:
            return False
        return True

    @app.get("/admin")
    def admin(request: Request) -> Any:
        if not tracker.admin_token:
            return PlainTextResponse("Not Found", status_code=404)
        if not _is_admin(request):
            return tracker.html("admin_login.html", "en", None, status=401, failed=False)
        counts, suppressions = admin_counts(store)
        return tracker.html("admin.html", "en", None, campaigns=counts, suppressions=suppressions)

    @app.get("/admin/counts.json")
    def admin_json(request: Request) -> Any:
        if not tracker.admin_token:
            return PlainTextResponse("Not Found", status_code=404)
        if not _is_admin(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        counts, suppressions = admin_counts(store)
        return JSONResponse({"campaigns": counts, "suppressions": dict(suppressions)})

    @app.post("/admin/login")
    async def admin_login(request: Request) -> Any:
        if not tracker.admin_token:
            return PlainTextResponse("Not Found", status_code=404)
        form = await request.form()
        given = str(form.get("token", ""))
        if not hmac.compare_digest(given.encode(), tracker.admin_token.encode()):
            return tracker.html("admin_login.html", "en", None, status=401, failed=True)
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            _ADMIN_COOKIE,
            tracker.admin_signer.sign("admin").decode(),
            max_age=12 * 3600,
            httponly=True,
            samesite="strict",
            secure=settings.public_url.startswith("https://"),
        )
        return response

    return app
