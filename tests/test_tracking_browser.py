"""The RSVP page in real headless Chromium: accessibility (axe-core) and real submissions.

axe-core comes from npm, pinned (`AXE_VERSION`), installed into `<venv>/npm` by `./dev
setup` or, if missing, by the first test that needs it. Screenshots are saved under the
test's temporary directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from test_tracking_support import CAMPAIGN, Seeded, seed, serve

from outreach.store.models import ResponseEvent
from outreach.tracking.app import create_app

pytestmark = pytest.mark.browser

AXE_VERSION = "4.14.1"
AXE_DIR = Path(sys.prefix) / "npm"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def axe_script() -> Path:
    """axe.min.js at the pinned version, installed from npm when it is not there yet."""
    installed = AXE_DIR / "node_modules" / "axe-core" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == AXE_VERSION:
        return AXE_JS
    npm = shutil.which("npm")
    assert npm, "npm is needed to install axe-core (./dev setup installs it)"
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(AXE_DIR),
            f"axe-core@{AXE_VERSION}",
            "--no-audit",
            "--no-fund",
            "--silent",
        ],
        check=True,
        timeout=300,
    )
    return AXE_JS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def site(sqlite_store, settings) -> Iterator[tuple[str, Seeded]]:  # type: ignore[no-untyped-def]
    seeded = seed(sqlite_store, settings)
    with serve(create_app(settings, store=sqlite_store)) as base:
        yield base, seeded


def run_axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
    ]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_rsvp_pages_have_no_wcag_violations(browser, site, lang, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base, seeded = site
    # bypass_csp: the page forbids scripts, and axe is injected as one.
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    url = f"{base}/rsvp/{seeded.token('flyer', lang, point='whitechapel-library')}"
    page.goto(url)
    assert page.get_attribute("html", "lang") == lang
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    assert run_axe(page) == []
    page.screenshot(path=str(tmp_path / f"rsvp-{lang}.png"), full_page=True)

    # The page after a submission without an answer: errors shown, still accessible.
    page.click("button[type=submit]")
    assert page.locator(".errors").is_visible()
    assert page.get_attribute("#answer_yes", "aria-invalid") == "true"
    assert run_axe(page) == []

    page.check("#answer_yes")
    page.check("#barrier_belonging")
    page.click("button[type=submit]")
    page.wait_for_url("**/thanks?*")
    assert run_axe(page) == []
    page.screenshot(path=str(tmp_path / f"thanks-{lang}.png"), full_page=True)
    context.close()


def _stored_rsvps(seeded: Seeded) -> list[ResponseEvent]:
    with seeded.store.session() as session:
        events = list(session.scalars(select(ResponseEvent).where(ResponseEvent.kind == "rsvp")))
        for event in events:
            session.expunge(event)
        return events


@pytest.mark.parametrize(
    ("lang", "direction", "contact"), [("es", "ltr", "c2"), ("ar", "rtl", "c1")]
)
def test_rsvp_filled_in_and_submitted_in_chromium(
    browser, site, lang, direction, contact, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    base, seeded = site
    token = seeded.token("email", lang, delivery=seeded.deliveries[contact])
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/rsvp/{token}")
    assert page.get_attribute("html", "lang") == lang
    assert page.get_attribute("html", "dir") == direction
    # Keyboard only: Tab to the answers (the focus ring is visible), Space picks one,
    # the arrow keys move within the group.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "answer":
            break
    assert page.evaluate("document.activeElement.id") == "answer_yes"
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline == ["solid", "3px"]
    page.keyboard.press("Space")
    assert page.is_checked("#answer_yes")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#answer_no")
    page.keyboard.press("ArrowUp")
    assert page.is_checked("#answer_yes")
    page.fill("#party_size", "3")
    page.fill("#access_needs", "Step-free seat near the front")
    page.check("#heard_email")
    page.check("input[name=group_age][value='18-24']")
    page.check("input[name=group_birth][value=outside-uk]")
    page.check("#barrier_childcare")
    page.check("#barrier_language")
    page.fill("#barrier_text", "Evening is hard for me" if lang == "es" else "المساء صعب")
    page.screenshot(path=str(tmp_path / f"filled-{lang}.png"), full_page=True)
    page.focus("button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/thanks?*")
    assert page.get_attribute("html", "dir") == direction
    page.screenshot(path=str(tmp_path / f"submitted-{lang}.png"), full_page=True)
    # The thank-you page answers each barrier named with the campaign's reply (2 named).
    assert page.locator("main dl").first.locator("dd").count() == 2
    # Reloading the thank-you page (Post/Redirect/Get) stores nothing new.
    page.reload()
    context.close()

    events = _stored_rsvps(seeded)
    assert len(events) == 1
    event = events[0]
    assert (event.campaign_id, event.channel, event.language) == (CAMPAIGN, "email", lang)
    assert event.answer == "yes" and event.party_size == 3
    assert event.contact_pk == seeded.contacts[contact]
    assert event.delivery_id == seeded.deliveries[contact]
    assert event.self_groups == "age:18-24;birth:outside-uk"
    assert event.data["barriers"] == ["childcare", "language"]
    assert event.data["access_needs"] == "Step-free seat near the front"
    assert event.data["heard_via"] == "email"
    assert event.data["barrier_text"]
    assert event.source == "web"
