"""Prefect tasks: each wraps one library call and returns ids, counts or paths.

Tasks take the work directory and re-open the store themselves, so they run the same in a
thread, a Dask worker process or a Prefect worker on another machine.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from prefect import task

from outreach.orchestration.context import (
    campaign_spec,
    mark_wave,
    open_store,
    settings_at,
    wave_status,
)

# Network-facing work is retried: a transient failure leaves ledger rows pending or
# claimed-and-released, and the next attempt sends only what was not sent.
NETWORK_RETRIES = {"retries": 3, "retry_delay_seconds": [2, 10, 30]}


class CampaignHasProblems(RuntimeError):
    """Raised inside a flow without the problems themselves (they may quote personal data)."""


@task(name="validate-campaign")
def validate(
    spec_path: str, workdir: str, allow_fallback: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    from outreach.validation import validate_campaign

    settings = settings_at(workdir)
    report = validate_campaign(spec_path, settings, allow_fallback=allow_fallback, now=now)
    if report.problems:
        raise CampaignHasProblems(
            f"the campaign has {len(report.problems)} problem(s); run `outreach validate "
            f"{spec_path}` to see them"
        )
    sources = report.sources
    return {
        "campaign_id": report.spec.id,
        "contacts": len(sources.contacts),
        "groups": len(sources.groups),
        "partners": len(sources.partners) if sources.partners is not None else 0,
    }


@task(name="record-campaign")
def record(spec_path: str, workdir: str) -> dict[str, Any]:
    from outreach.campaign import load_campaign
    from outreach.contacts import load_sources
    from outreach.recording import record_campaign

    settings = settings_at(workdir)
    spec = load_campaign(spec_path)
    # `validate` checked every row moments ago: recording reads and checks them once more
    # (a file changed since is refused, and nothing is recorded), not twice.
    sources = load_sources(spec, settings, defer_contacts=True)
    store = open_store(settings)
    try:
        recorded = record_campaign(store, spec, sources)
    finally:
        store.dispose()
    return {"campaign_id": spec.id, **asdict(recorded)}


@task(name="plan-first-wave")
def plan_first_wave(
    spec_path: str, workdir: str, allow_fallback: str | None = None, now: datetime | None = None
) -> int:
    from outreach.audience import plan_first_wave as plan
    from outreach.campaign import load_campaign

    settings = settings_at(workdir)
    spec = load_campaign(spec_path)
    store = open_store(settings)
    try:
        return plan(store, spec, settings, allow_fallback=allow_fallback, now=now)
    finally:
        store.dispose()


@task(name="render-materials")
def render_chunk(
    campaign_id: str,
    wave: int,
    workdir: str,
    languages: list[str] | None = None,
    partner_ids: list[str] | None = None,
) -> dict[str, int]:
    """Render one chunk of a wave's materials; return counts by kind."""
    from collections import Counter

    from outreach.channels.materials import render_materials

    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        spec = campaign_spec(store, campaign_id)
        rows = render_materials(
            store, spec, settings, wave, languages=languages, partner_ids=partner_ids
        )
        return dict(Counter(row.kind for row in rows))
    finally:
        store.dispose()


@task(name="send-batch", **NETWORK_RETRIES)
def send_batch(
    campaign_id: str, wave: int, workdir: str, now: datetime | None = None
) -> dict[str, int]:
    """Claim and send one batch of the wave's due ledger rows; return its counts."""
    from dataclasses import asdict

    from outreach.delivery.service import send_batch as send

    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        spec = campaign_spec(store, campaign_id)
        counts = send(store, settings, spec, wave, limit=settings.send_batch_size, now=now)
    finally:
        store.dispose()
    return {key: int(value) for key, value in asdict(counts).items()}


@task(name="wave-counts")
def counts(campaign_id: str, wave: int, workdir: str) -> dict[str, int]:
    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        return wave_status(store, campaign_id, wave)
    finally:
        store.dispose()


@task(name="mark-wave-sent")
def mark_sent(campaign_id: str, wave: int, workdir: str, now: datetime | None = None) -> None:
    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        mark_wave(store, campaign_id, wave, "sent", sent_at=now or datetime.now(UTC))
    finally:
        store.dispose()


@task(name="wave-summary")
def wave_summary(campaign_id: str, wave: int, workdir: str) -> dict[str, Any]:
    """F's summary of the wave (counts only, small cells suppressed) for the artifacts."""
    from outreach.analysis.report import wave_summary as summarise

    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        summary = summarise(store, settings, campaign_id, wave)
    finally:
        store.dispose()
    table = summary.table
    if hasattr(table, "to_dict"):
        table = table.astype(object).where(table.notna(), None).to_dict("records")
    return {"markdown": str(summary.markdown), "table": list(table)}


@task(name="write-report")
def write_report(campaign_id: str, workdir: str, out_dir: str) -> str:
    from outreach.analysis.report import write_report as write

    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        return str(write(store, settings, campaign_id, out_dir))
    finally:
        store.dispose()


def render_wave_materials(
    campaign_id: str,
    wave: int,
    workdir: str,
    *,
    languages: list[str],
    partner_ids: list[str],
    partners_per_chunk: int = 4,
) -> dict[str, int]:
    """Render a wave's materials in chunks through the configured task runner.

    Flyers go one task per language (no partners); radio scripts and packs go one task per
    few partners, after the flyers exist (packs include them). The task count grows with
    languages and partners, never with contacts.
    """
    from collections import Counter

    from outreach.orchestration.runners import make_task_runner

    settings = settings_at(workdir)
    total: Counter[str] = Counter()
    with make_task_runner(settings, cpu_bound=True) as runner:
        futures = [
            runner.submit(
                render_chunk,
                parameters={
                    "campaign_id": campaign_id,
                    "wave": wave,
                    "workdir": workdir,
                    "languages": [language],
                    "partner_ids": [],
                },
            )
            for language in languages
        ]
        for future in futures:
            total.update(future.result())
        chunks = [
            partner_ids[i : i + partners_per_chunk]
            for i in range(0, len(partner_ids), partners_per_chunk)
        ]
        futures = [
            runner.submit(
                render_chunk,
                parameters={
                    "campaign_id": campaign_id,
                    "wave": wave,
                    "workdir": workdir,
                    "languages": languages,
                    "partner_ids": chunk,
                },
            )
            for chunk in chunks
        ]
        for future in futures:
            total.update(future.result())
    return dict(total)
