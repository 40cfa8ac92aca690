"""`report`: the evaluators' report (report.html, charts, CSV) for a campaign."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.tasks import write_report


@flow(name="report")
def report(campaign_id: str, workdir: str, out_dir: str) -> str:
    """Write the report under `out_dir`; return the path of report.html."""
    path = write_report(campaign_id, workdir, out_dir)
    create_markdown_artifact(
        f"Report for **{campaign_id}** written to `{path}`.",
        key=f"{campaign_id}-report",
        description="Where the latest evaluator report is.",
    )
    return path
