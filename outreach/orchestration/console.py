"""Running flows from a terminal: a progress bar, plain tables, and plain failures.

Shared by `outreach launch` and `outreach demo` (in `outreach/cli/`); kept here because it is
about Prefect runs, not about one verb.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from outreach.orchestration.progress import Note, listen
from outreach.orchestration.progress import Progress as SendProgress


@contextmanager
def send_progress_bar(console: Console) -> Iterator[None]:
    """Draw a rich progress bar for every wave a flow sends in this process."""
    bars: dict[tuple[str, int], Any] = {}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:

        def update(event: SendProgress | Note) -> None:
            if isinstance(event, Note):
                progress.console.print(f"  [dim]…[/] {event.text}", highlight=False)
                return
            key = (event.campaign_id, event.wave)
            detail = ", ".join(f"{n} {k}" for k, n in event.counts.items() if n)
            if key not in bars:
                bars[key] = progress.add_task(
                    f"Sending wave {event.wave}", total=event.total or 1, detail=detail
                )
            progress.update(bars[key], completed=event.done, total=event.total or 1, detail=detail)

        with listen(update):
            yield


def plan_rich_table(frame: Any, *, title: str) -> Table:
    """A `plan_table` DataFrame (channel, language, group, recipients) as a rich table."""
    table = Table(title=title, show_lines=False)
    columns = [str(c) for c in frame.columns]
    for column in columns:
        table.add_column(column, justify="right" if column == "recipients" else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[str(value) for value in row])
    return table


def counts_line(counts: dict[str, Any]) -> str:
    parts = [
        f"{int(counts.get(k, 0))} {k}"
        for k in ("sent", "failed", "suppressed", "skipped", "deferred")
        if counts.get(k)
    ]
    return ", ".join(parts) or "nothing to send"
