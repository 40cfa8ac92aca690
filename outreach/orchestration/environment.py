"""Prefect's environment, set before Prefect is imported.

Prefect reads most of its settings once, when `prefect` is first imported, so the CLI calls
`prefect_environment(settings)` before anything imports Prefect. Only *defaults* are set:
a variable the user exported wins.

```python
from outreach.orchestration import prefect_environment

prefect_environment(settings)      # then: from prefect import flow ...
```
"""

from __future__ import annotations

import os
from pathlib import Path

from outreach.settings import Settings

# What every Outreach process wants from Prefect, whatever the work directory.
BASE_DEFAULTS: dict[str, str] = {
    # No telemetry leaves an officer's machine.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The first start of a local API server runs database migrations: 8-30 s on 2 cores.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    # Task runs reach the API as events; record them in batches instead of one by one,
    # so a wave's task runs are all visible moments after the flow ends.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "50",
    # Whole seconds: Prefect 3.8 truncates this to an int, and 0.5 became a sleep(0) loop
    # that kept half a core busy in every idle local server.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    # Nothing in Outreach relies on Prefect's result storage; results are ids and counts.
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}

# For people at a terminal: Prefect's log lines (and their tracebacks) still go to the API
# and its UI, but the console stays for Outreach's own words; a failed run is reported by
# the CLI in one plain sentence.
QUIET_CONSOLE: dict[str, str] = {
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
}


def prefect_home(settings: Settings) -> Path:
    """Where this work directory's Prefect database and logs live."""
    return settings.workdir / ".prefect"


def prefect_environment(settings: Settings, *, quiet: bool = True) -> dict[str, str]:
    """Set Prefect's environment defaults for `settings.workdir`; return what was set.

    `PREFECT_HOME` goes under the work directory, so a demo or a test never touches
    `~/.prefect` and its flow runs stay next to the store they describe.
    """
    wanted = dict(BASE_DEFAULTS)
    wanted["PREFECT_HOME"] = str(prefect_home(settings))
    if quiet:
        wanted.update(QUIET_CONSOLE)
    applied: dict[str, str] = {}
    for name, value in wanted.items():
        if name not in os.environ:
            os.environ[name] = value
            applied[name] = value
    prefect_home(settings).mkdir(parents=True, exist_ok=True)
    return applied
