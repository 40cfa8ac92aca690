"""`send_wave`: send a wave's pending ledger rows, a batch per task, with progress.

Batches run through the task runner chosen in settings; each claims its own rows from the
ledger, so parallel batches never send one message twice, and a re-run after a crash sends
only what is still pending. Ends with a table artifact of counts and the analysis summary.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from flows.tasks import counts, mark_sent, send_batch, wave_summary
from outreach.orchestration.context import settings_at
from outreach.orchestration.progress import Progress, report_progress
from outreach.orchestration.runners import make_task_runner

OUTCOMES = ("sent", "failed", "suppressed", "skipped", "deferred")
UNSENT = ("pending", "claimed")


def _available(module: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _artifact_key(campaign_id: str, wave: int, what: str) -> str:
    return f"{campaign_id}-wave-{wave}-{what}".lower()


@flow(name="send-wave", log_prints=False)
def send_wave(
    campaign_id: str, wave: int, workdir: str, now: datetime | None = None
) -> dict[str, Any]:
    """Send wave `wave` of `campaign_id`; return counts by outcome (ids and counts only)."""
    logger = get_run_logger()
    settings = settings_at(workdir)
    before = counts(campaign_id, wave, workdir)
    total = sum(before.values())
    to_send = sum(before.get(status, 0) for status in UNSENT)
    already = total - to_send
    progress_id = create_progress_artifact(
        progress=100.0 * already / total if total else 100.0,
        key=_artifact_key(campaign_id, wave, "sending"),
        description=f"Ledger rows of wave {wave} of {campaign_id} handled so far.",
    )
    totals = dict.fromkeys(OUTCOMES, 0)
    batches = 0
    remaining = to_send
    with make_task_runner(settings) as runner:
        while remaining > 0:
            parallel = max(
                1, min(settings.max_workers, math.ceil(remaining / settings.send_batch_size))
            )
            futures = [
                runner.submit(
                    send_batch,
                    parameters={
                        "campaign_id": campaign_id,
                        "wave": wave,
                        "workdir": workdir,
                        "now": now,
                    },
                )
                for _ in range(parallel)
            ]
            results = [future.result() for future in futures]
            batches += len(results)
            handled = deferred = 0
            for result in results:
                for outcome in OUTCOMES:
                    totals[outcome] += int(result.get(outcome, 0))
                handled += sum(int(result.get(o, 0)) for o in OUTCOMES if o != "deferred")
                deferred += int(result.get("deferred", 0))
            remaining = min(int(result.get("remaining", 0)) for result in results)
            done = (
                already
                + totals["sent"]
                + totals["failed"]
                + totals["suppressed"]
                + totals["skipped"]
            )
            if progress_id is not None and total:
                update_progress_artifact(progress_id, progress=min(100.0, 100.0 * done / total))
            report_progress(Progress(campaign_id, wave, done, total, dict(totals)))
            if handled == 0 and deferred == 0:
                # Nothing claimable is left: what remains is deferred (quiet hours, minimum
                # gap) and a later run sends it. A round that only deferred rows (their
                # `not_before` is now set) goes on, since other rows may still be due.
                break
    after = counts(campaign_id, wave, workdir)
    if not any(after.get(status, 0) for status in UNSENT):
        mark_sent(campaign_id, wave, workdir, now)
    create_table_artifact(
        [{"outcome": outcome, "this run": totals[outcome]} for outcome in OUTCOMES]
        + [{"outcome": f"ledger: {status}", "this run": n} for status, n in sorted(after.items())],
        key=_artifact_key(campaign_id, wave, "counts"),
        description=f"Wave {wave} of {campaign_id}: messages by outcome (counts only).",
    )
    if not _available("outreach.analysis.report"):
        logger.info("analysis summary not available in this installation")
    else:
        summary = wave_summary(campaign_id, wave, workdir)
        create_markdown_artifact(
            summary["markdown"],
            key=_artifact_key(campaign_id, wave, "summary"),
            description=f"Wave {wave} of {campaign_id}: summary (small counts suppressed).",
        )
        if summary["table"]:
            create_table_artifact(
                summary["table"],
                key=_artifact_key(campaign_id, wave, "summary-table"),
                description=f"Wave {wave} of {campaign_id}: summary table.",
            )
    logger.info(
        "wave %s of %s: %s in %s batches; ledger now %s",
        wave,
        campaign_id,
        totals,
        batches,
        after,
    )
    return {"campaign_id": campaign_id, "wave": wave, "batches": batches, **totals, "ledger": after}
