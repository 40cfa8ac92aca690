"""Benchmark of the evaluator report over 1,000,000 response events (SQLite by default).

Builds a store with a synthetic campaign — 100,000 contacts in three group dimensions,
three waves of email (160,000 ledger rows), radio and flyer materials — and 1,000,000
response events: provider "delivered" events, opens (with repeats), clicks, QR scans,
RSVPs from contacts and from radio/flyer listeners who described themselves (some with
barriers and free text), and attendance. Rows go in with SQLAlchemy Core `executemany`
in chunks. Then `write_report` runs in a fresh process, so its time and peak memory
(max RSS) are its own.

    .venv/bin/python bench/report.py [--events 1000000] [--contacts 100000]
                                     [--database-url URL] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.campaign import load_campaign  # noqa: E402
from outreach.store import Store  # noqa: E402
from outreach.store.models import (  # noqa: E402
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Group,
    Material,
    ResponseEvent,
    Wave,
)

CAMPAIGN = "the-way-ahead"
CHUNK = 50_000
GROUPS = {
    "age": [("15-64", "Aged 15 to 64", 0.855), ("65-plus", "Aged 65 and over", 0.145)],
    "birth": [("uk", "Born in the UK", 0.594), ("outside-uk", "Born outside the UK", 0.406)],
    "language": [
        ("en", "Main language English", 0.784),
        ("bn", "Main language Bengali", 0.014),
        ("so", "Main language Somali", 0.005),
        ("pl", "Main language Polish", 0.015),
        ("other", "Main language another language", 0.182),
    ],
}
BARRIERS = ["time", "childcare", "language", "cost", "access", "belonging"]


def _insert(store: Store, table: object, rows: list[dict[str, object]]) -> None:
    with store.engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            connection.execute(table.insert(), rows[start : start + CHUNK])  # type: ignore[attr-defined]


def build(store: Store, events: int, contacts: int, seed: int = 7) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    spec = load_campaign(ROOT / "campaigns" / "the-way-ahead.yaml").model_dump(mode="json")
    t0 = datetime(2027, 4, 1, tzinfo=UTC)
    with store.session() as session:
        session.add(
            Campaign(id=CAMPAIGN, title=spec["event"]["title"], spec=spec, source_language="en")
        )
        for dimension, values in GROUPS.items():
            for value, label, share in values:
                session.add(
                    Group(
                        campaign_id=CAMPAIGN,
                        dimension=dimension,
                        value=value,
                        label=label,
                        population_share=share,
                    )
                )
        session.add_all(Wave(campaign_id=CAMPAIGN, number=n) for n in (1, 2, 3))
    ids = np.arange(1, contacts + 1)
    age = rng.choice(["15-64", "65-plus"], contacts, p=[0.88, 0.12])
    birth = rng.choice(["uk", "outside-uk"], contacts, p=[0.7, 0.3])
    language = np.where(
        birth == "uk",
        "en",
        rng.choice(["en", "bn", "so", "pl", "other"], contacts, p=[0.3, 0.2, 0.1, 0.2, 0.2]),
    )
    _insert(store, Contact.__table__, [
        {"id": int(i), "contact_id": f"C{i}", "name": f"Synthetic {i}",
         "email": f"c{i}@example.org", "language": str(lang), "groups": "",
         "consent_email": True, "extra": {}, "updated_at": t0}
        for i, lang in zip(ids, language, strict=True)
    ])  # fmt: skip
    members = []
    for dimension, values in (("age", age), ("birth", birth), ("language", language)):
        members.extend(
            {"contact_pk": int(i), "dimension": dimension, "value": str(v)}
            for i, v in zip(ids, values, strict=True)
        )
    _insert(store, ContactGroup.__table__, members)
    _insert(store, CampaignContact.__table__, [
        {"campaign_id": CAMPAIGN, "contact_pk": int(i), "added_at": t0} for i in ids
    ])  # fmt: skip

    # Ledger: wave 1 to everyone, waves 2 and 3 to shrinking subsets.
    ledger = []
    wave_of = {}
    next_id = 1
    for wave, share in ((1, 1.0), (2, 0.4), (3, 0.2)):
        chosen = ids if share == 1.0 else rng.choice(ids, int(contacts * share), replace=False)
        for i in chosen:
            lang = "en" if language[i - 1] in ("other",) else str(language[i - 1])
            fallback = lang == "so" and (i % 7 == 0)
            ledger.append({
                "id": next_id, "campaign_id": CAMPAIGN, "wave": wave, "recipient": f"c:{i}",
                "contact_pk": int(i), "channel": "email",
                "language": "en" if fallback else lang,
                "fallback_from": "so" if fallback else None,
                "status": "sent" if i % 50 else "skipped", "attempts": 1,
                "created_at": t0, "updated_at": t0,
            })  # fmt: skip
            wave_of[next_id] = (wave, int(i), "en" if fallback else lang)
            next_id += 1
    _insert(store, Delivery.__table__, ledger)
    materials = [
        {"campaign_id": CAMPAIGN, "wave": w, "channel": ch, "language": lang, "kind": kind,
         "placement": place, "path": f"m/{w}/{ch}/{lang}/{kind}/{place}", "sha256": "0" * 64,
         "created_at": t0}
        for w in (1, 2, 3) for lang in ("bn", "so", "pl", "en")
        for ch, kind, place in (
            ("radio", "radio-30s", "station"), ("radio", "radio-60s", "station"),
            ("flyer", "flyer-a4", "library"), ("flyer", "flyer-a5", "market"),
        )
    ]  # fmt: skip
    _insert(store, Material.__table__, materials)

    # Events: a realistic mix summing to `events`.
    delivery_ids = np.array(list(wave_of))
    mix = {
        "delivered": 0.16, "open": 0.40, "click": 0.15, "rsvp": 0.15,
        "anon_rsvp": 0.05, "scan": 0.05, "attended": 0.04,
    }  # fmt: skip
    counts = {k: int(v * events) for k, v in mix.items()}
    counts["open"] += events - sum(counts.values())
    rows: list[dict[str, object]] = []
    n = 0

    def add(kind: str, channel: str, wave: int, lang: str, **extra: object) -> None:
        nonlocal n
        rows.append({
            "external_id": f"bench-{n}", "campaign_id": CAMPAIGN, "wave": wave,
            "channel": channel, "language": lang, "kind": kind, "source": "simulated",
            "data": extra.pop("data", {}), "occurred_at": t0 + timedelta(seconds=n),
            "recorded_at": t0, "delivery_id": None, "contact_pk": None, "answer": None,
            "self_groups": None, **extra,
        })  # fmt: skip
        n += 1

    for kind in ("delivered", "open", "click", "attended"):
        for d in rng.choice(delivery_ids, counts[kind]):
            wave, contact, lang = wave_of[int(d)]
            add(kind, "email", wave, lang, delivery_id=int(d), contact_pk=contact)
    answers = rng.choice(["yes", "maybe", "no"], counts["rsvp"], p=[0.5, 0.2, 0.3])
    for d, answer in zip(rng.choice(delivery_ids, counts["rsvp"]), answers, strict=True):
        wave, contact, lang = wave_of[int(d)]
        data = {}
        if answer != "yes" and n % 3 == 0:
            data = {
                "barriers": list(rng.choice(BARRIERS, 2, replace=False)),
                "barrier_text": "Evenings are hard; call 07700 900123",
                "heard_via": "email",
            }
        add("rsvp", "email", wave, lang, delivery_id=int(d), contact_pk=contact,
            answer=str(answer), data=data)  # fmt: skip
    selves = [
        "birth:outside-uk;language:so",
        "birth:outside-uk;language:bn",
        "age:65-plus",
        "",
        "birth:uk;language:en;age:15-64",
        "birth:outside-uk;language:pl",
    ]
    for k in range(counts["anon_rsvp"]):
        channel = "radio" if k % 2 else "flyer"
        add(
            "rsvp",
            channel,
            1 + k % 3,
            ["so", "bn", "pl", "en"][k % 4],
            answer=["yes", "maybe", "no"][k % 3],
            self_groups=selves[k % len(selves)] or None,
            data={"barriers": [BARRIERS[k % 6]], "heard_via": channel} if k % 4 == 0 else {},
        )
    for k in range(counts["scan"]):
        add("scan", "flyer", 1 + k % 3, ["so", "bn", "pl", "en"][k % 4])
    _insert(store, ResponseEvent.__table__, rows)
    return {"contacts": contacts, "deliveries": len(ledger), "events": len(rows)}


def measure(database_url: str, out_dir: str) -> None:
    """Runs in a fresh process: time and peak memory of write_report alone."""
    from outreach.analysis.report import write_report
    from outreach.settings import Settings

    store = Store(database_url)
    settings = Settings(workdir=Path(out_dir) / "work", database_url=database_url,
                        secret_key="bench")  # fmt: skip
    before = _peak_rss_kb()
    start = time.perf_counter()
    cpu = time.process_time()
    path = write_report(store, settings, CAMPAIGN, Path(out_dir) / "report")
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = _peak_rss_kb()
    print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                      "peak_rss_mb": round(peak / 1024, 1),
                      "rss_before_mb": round(before / 1024, 1), "report": str(path)}))  # fmt: skip


def _peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM; ru_maxrss would carry the parent's
    peak across fork/exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", default="", help="Folder to keep the store and report in.")
    parser.add_argument("--measure", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="outreach-bench-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    store = Store(url)
    store.upgrade()
    start = time.perf_counter()
    sizes = build(store, args.events, args.contacts)
    built = time.perf_counter() - start
    store.dispose()
    print(f"store: {store.engine.dialect.name}, {sizes['contacts']:,} contacts, "
          f"{sizes['deliveries']:,} ledger rows, {sizes['events']:,} response events "
          f"(built in {built:.1f} s)")  # fmt: skip
    result = subprocess.run(
        [sys.executable, __file__, "--measure", url, str(folder)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"write_report: {figures['seconds']:.2f} s wall, {figures['cpu_seconds']:.2f} s CPU, "
          f"load average {os.getloadavg()[0]:.1f}; peak memory (max RSS) "
          f"{figures['peak_rss_mb']:.0f} MB (of which {figures['rss_before_mb']:.0f} MB "
          "before the report started: Python, pandas, matplotlib)")  # fmt: skip
    print(f"report: {figures['report']}")


if __name__ == "__main__":
    main()
