"""Machine translation through the real deep-translator LibreTranslate backend, against a
LibreTranslate-compatible HTTP server on loopback (its `/translate` wire protocol: `q`,
`source`, `target`, `format`, `api_key` as JSON, form or query fields; answer
`{"translatedText": ...}`), including 429 with Retry-After and 500 responses."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from babel.messages.pofile import read_po
from conftest import SAMPLE_CAMPAIGN

from outreach.campaign import load_campaign
from outreach.i18n.catalog import entry_state
from outreach.i18n.checks import check_translations
from outreach.i18n.engines import parse_retry_after
from outreach.i18n.fill import fill_campaign
from outreach.i18n.machine import MachineTranslationError
from outreach.i18n.messages import campaign_messages, template_messages
from outreach.i18n.paths import (
    LOCALE_DIR,
    campaign_po_path,
    preserved_campaign_dirs,
    template_po_path,
    use_locale_dir,
)
from outreach.i18n.translators import CatalogOnlyTranslator, make_translator
from outreach.settings import Settings
from outreach.store import Store

API_KEY = "test-key"


@pytest.fixture(autouse=True)
def _campaign_dirs_restored() -> Iterator[None]:
    """Specs in temporary folders must not redirect other tests' campaign catalogs."""
    with preserved_campaign_dirs():
        yield


@dataclass
class FakeLibreTranslate:
    """A LibreTranslate look-alike: `[xx] text`, with scripted failures and mangling."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    mangle: str = ""  # "drop" removes the first token, "alter" renumbers it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, fields: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self.lock:
            self.requests.append(fields)
            if self.script:
                status, headers = self.script.pop(0)
                return status, headers, {"error": "scripted failure"}
        if fields.get("api_key") != API_KEY:
            return 403, {}, {"error": "Invalid API key"}
        q, target = fields.get("q"), fields.get("target")
        if not q or not target or not fields.get("source"):
            return 400, {}, {"error": "Invalid request: missing q, source or target"}

        def translate(text: str) -> str:
            out = f"[{target}] {text}"
            if self.mangle == "drop":
                out = out.replace("⟦0⟧", "", 1)
            elif self.mangle == "alter":
                out = out.replace("⟦0⟧", "⟦7⟧", 1)
            return out

        result = [translate(t) for t in q] if isinstance(q, list) else translate(q)
        return 200, {}, {"translatedText": result}

    def translation_requests(self) -> int:
        return len(self.requests)


def _handler(fake: FakeLibreTranslate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            url = urlparse(self.path)
            if url.path != "/translate":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fields: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
            kind = self.headers.get("Content-Type", "")
            if "json" in kind and body:
                fields.update(json.loads(body))
            elif body:
                fields.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
            status, headers, payload = fake.answer(fields)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def libre() -> Iterator[FakeLibreTranslate]:
    fake = FakeLibreTranslate()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def locale_copy(tmp_path: Path) -> Iterator[Path]:
    """The shipped template catalogs, copied, with every translation removed."""
    target = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, target)
    for po in target.glob("*/LC_MESSAGES/*.po"):
        text = po.read_text(encoding="utf-8")
        po.write_text(_blank(text), encoding="utf-8")
    with use_locale_dir(target):
        yield target


def _blank(po_text: str) -> str:
    """Drop every translation from a PO file's text (keeps the header)."""
    from io import BytesIO

    from babel.messages.pofile import write_po

    catalog = read_po(BytesIO(po_text.encode()))
    for message in catalog:
        if message.id:
            message.string = ("", "") if isinstance(message.id, tuple) else ""
            message.flags.discard("fuzzy")
    out = BytesIO()
    write_po(out, catalog)
    return out.getvalue().decode()


@pytest.fixture
def spec(tmp_path: Path) -> Any:
    """The sample campaign, with its campaign catalogs in a temporary folder."""
    loaded = load_campaign(SAMPLE_CAMPAIGN)
    folder = tmp_path / "campaign"
    folder.mkdir()
    return loaded.model_copy(update={"spec_path": folder / "the-way-ahead.yaml"})


def machine_settings(workdir: Path, fake: FakeLibreTranslate, **extra: Any) -> Settings:
    return Settings(
        workdir=workdir,
        secret_key="test",
        translator="libretranslate",
        translator_url=fake.url,
        translator_api_key=API_KEY,
        translator_requests_per_second=1000,
        **extra,
    )


@pytest.fixture
def sqlite(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'cache.db'}")
    store.upgrade()
    return store


class Waits:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_libretranslate_backend_translates_unique_strings_once(libre, sqlite, workdir):
    translator = make_translator(machine_settings(workdir, libre), store=sqlite)
    texts = ["Hello", "Where", "Hello", "", "Where"]
    assert translator.translate_batch(texts, "en", "so") == [
        "[so] Hello",
        "[so] Where",
        "[so] Hello",
        "",
        "[so] Where",
    ]
    assert libre.translation_requests() == 2
    first = libre.requests[0]
    assert first["q"] == "Hello" and first["source"] == "en" and first["target"] == "so"
    assert first["api_key"] == API_KEY


def test_second_run_makes_no_requests_even_in_a_new_process(libre, store, workdir):
    """The cache lives in the store (SQLite, and PostgreSQL when configured)."""
    settings = machine_settings(workdir, libre)
    make_translator(settings, store=store).translate_batch(["Hello", "Where"], "en", "bn")
    before = libre.translation_requests()
    fresh = make_translator(settings, store=Store(store.url))  # a new translator and engine
    assert fresh.translate_batch(["Where", "Hello"], "en", "bn") == ["[bn] Where", "[bn] Hello"]
    assert libre.translation_requests() == before == 2


def test_429_with_retry_after_and_500_are_retried(libre, sqlite, workdir):
    waits = Waits()
    translator = make_translator(machine_settings(workdir, libre), store=sqlite, sleep=waits)
    libre.script = [(429, {"Retry-After": "3"}), (500, {}), (503, {})]
    assert translator.translate_batch(["Hello"], "en", "ar") == ["[ar] Hello"]
    assert libre.translation_requests() == 4
    # Retry-After honoured for the 429, then exponential back-off (1 s, 2 s) for the 5xx.
    assert [w for w in waits.calls if w >= 0.25] == [3.0, 1.0, 2.0]


def test_persistent_server_errors_give_up_and_report(libre, sqlite, workdir):
    translator = make_translator(
        machine_settings(workdir, libre), store=sqlite, sleep=Waits(), max_attempts=3
    )
    libre.script = [(500, {})] * 3
    with pytest.raises(MachineTranslationError) as caught:
        translator.translate_batch(["Hello"], "en", "ur")
    assert "HTTP 500" in caught.value.failures["Hello"]
    assert "gave up after 3 attempts" in caught.value.failures["Hello"]


def test_an_unreachable_engine_stops_the_batch_instead_of_retrying_every_string(
    libre, sqlite, workdir
):
    waits = Waits()
    translator = make_translator(
        machine_settings(workdir, libre), store=sqlite, sleep=waits, max_attempts=3
    )
    libre.script = [(503, {})] * 3
    result = translator.translate_many(["One", "Two", "Three"], "en", "so")
    assert libre.translation_requests() == 3  # three attempts for "One", nothing after
    assert "gave up" in result.failures["One"]
    assert result.failures["Three"].startswith("not sent: ")
    assert result.translations == {}


def test_bad_api_key_is_not_retried(libre, sqlite, workdir):
    settings = machine_settings(workdir, libre).model_copy(update={"translator_api_key": None})
    translator = make_translator(settings, store=sqlite, sleep=Waits())
    with pytest.raises(MachineTranslationError) as caught:
        translator.translate_batch(["Hello", "Where"], "en", "pl")
    assert libre.translation_requests() == 1
    assert "API key" in caught.value.failures["Hello"]


@pytest.mark.parametrize("mangle", ["drop", "alter"])
def test_placeholder_dropped_or_altered_by_the_engine_is_refused(libre, sqlite, workdir, mangle):
    libre.mangle = mangle
    translator = make_translator(machine_settings(workdir, libre), store=sqlite)
    text = "Dear %(name)s, see https://example.org/e or call RADIO-7K"
    with pytest.raises(MachineTranslationError) as caught:
        translator.translate_batch([text], "en", "es")
    assert "refused" in caught.value.failures[text]
    # Nothing refused is cached: a later, well-behaved run asks the engine again.
    libre.mangle = ""
    assert translator.translate_batch([text], "en", "es") == [f"[es] {text}"]


def test_placeholders_travel_as_tokens(libre, sqlite, workdir):
    translator = make_translator(machine_settings(workdir, libre), store=sqlite)
    text = "Hello {{ name }}, code RADIO-7K at https://x.org/a"
    translator.translate_batch([text], "en", "pl")
    sent = libre.requests[-1]["q"]
    assert "RADIO-7K" not in sent and "{{" not in sent and "https://" not in sent
    assert sent.count("⟦") == 3


def test_throttle_spaces_requests():
    from outreach.i18n.machine import Throttle

    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    throttle = Throttle(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        throttle.wait()
    assert waits == [0.25, 0.25, 0.25, 0.25]


def test_mymemory_and_google_get_their_own_language_codes():
    from outreach.i18n.languages import language_info

    assert language_info("zh").engine_code("google") == "zh-CN"
    assert language_info("so").engine_code("mymemory") == "so-SO"
    assert language_info("so").engine_code("libretranslate") == "so"


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None


def _contacts(count: int, languages: list[str]) -> Any:
    from types import SimpleNamespace

    frame = pd.DataFrame(
        {
            "contact_id": [f"c{i}" for i in range(count)],
            "language": [languages[i % len(languages)] for i in range(count)],
        }
    )
    return SimpleNamespace(contacts=frame, groups=pd.DataFrame(), partners=pd.DataFrame())


def test_request_count_does_not_grow_with_contacts(libre, locale_copy, tmp_path):
    languages = ["so"]
    counts = []
    for size in (100, 10_000):
        with use_locale_dir(_fresh_copy(locale_copy, tmp_path / f"locale-{size}")):
            loaded = load_campaign(SAMPLE_CAMPAIGN)
            folder = tmp_path / f"campaign-{size}"
            folder.mkdir()
            spec = loaded.model_copy(
                update={"spec_path": folder / "x.yaml", "target_languages": ["en", *languages]}
            )
            settings = machine_settings(tmp_path / f"work-{size}", libre)
            before = libre.translation_requests()
            problems = check_translations(spec, _contacts(size, ["en", *languages]), settings)
            assert problems == []
            counts.append(libre.translation_requests() - before)
    unique = len({m.singular for m in template_messages()}) + len(campaign_messages(spec))
    assert counts[0] == counts[1] == unique * len(languages)


def _fresh_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_machine_fill_marks_drafts_and_never_overwrites_approved(libre, locale_copy, spec, workdir):
    settings = machine_settings(workdir, libre)
    path = template_po_path("so")
    first = template_messages()[0].singular
    catalog = read_po(path.open("rb"))
    catalog[first].string = "Reviewed Somali text"  # approved: translated, not fuzzy
    from outreach.i18n.catalog import save_catalog

    save_catalog(catalog, path)
    report = fill_campaign(spec, settings, "so")
    assert report.problems == []
    assert report.filled == len(template_messages()) - 1 + len(campaign_messages(spec))
    after = read_po(path.open("rb"))
    assert after[first].string == "Reviewed Somali text" and not after[first].fuzzy
    drafts = [m for m in after if m.id and m.id != first]
    assert all(entry_state(m) == "draft" for m in drafts)
    assert all(
        any(c.startswith("machine draft: libretranslate, ") for c in m.user_comments)
        for m in drafts
    )
    campaign_po = read_po(campaign_po_path("so", spec.id).open("rb"))
    assert campaign_po[spec.event.title].string == f"[so] {spec.event.title}"
    # A second machine run finds nothing to do and asks nothing.
    before = libre.translation_requests()
    again = fill_campaign(spec, settings, "so")
    assert again.filled == 0 and libre.translation_requests() == before


def test_catalog_only_supplies_nothing():
    translator = CatalogOnlyTranslator()
    result = translator.translate_many(["Hello"], "en", "so")
    assert result.translations == {} and "catalog-only" in result.failures["Hello"]
