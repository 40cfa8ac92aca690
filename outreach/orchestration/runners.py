"""The Prefect task runner for work that grows with contacts, chosen in settings.

Threads by default; `prefect-dask`'s `DaskTaskRunner` when `OUTREACH_TASK_RUNNER=dask`
(a local cluster, or the scheduler at `OUTREACH_DASK_ADDRESS`).

```python
with make_task_runner(settings) as runner:
    futures = [runner.submit(render_chunk, parameters={...}) for chunk in chunks]
```
"""

from __future__ import annotations

from typing import Any

from outreach.settings import Settings


def make_task_runner(settings: Settings, *, cpu_bound: bool = False) -> Any:
    """A fresh (not yet started) Prefect task runner for `settings`.

    `cpu_bound=True` (PDF rendering) gets one thread with the threads runner: WeasyPrint's
    Pango/fontconfig is not safe to drive from several threads at once, and the GIL would
    serialise the work anyway. The Dask runner's worker processes render in parallel.
    """
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": settings.max_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": ":0",
            }
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=1 if cpu_bound else settings.max_workers)
