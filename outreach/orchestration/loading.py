"""Load the flows in `flows/` by entrypoint.

The library never imports `flows/` (flows depend on the library, not the other way
round); the CLI and `outreach serve` get flow objects from their files instead, exactly as
`prefect.yaml` and Prefect workers do.

```python
from outreach.orchestration import load_flow

launch = load_flow("launch")          # flows/launch.py:launch
launch(spec_path="campaigns/the-way-ahead.yaml", workdir="outreach-work", dry_run=True)
```
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FLOWS_DIR = PROJECT_ROOT / "flows"

# Flow file -> the flow function in it (the entrypoints `prefect.yaml` declares).
FLOW_FUNCTIONS: dict[str, str] = {
    "launch": "launch",
    "send": "send_wave",
    "follow_up": "follow_up",
    "report": "report",
}

# Deployment names, one per flow (`prefect.yaml` and `outreach serve` use the same).
DEPLOYMENTS: dict[str, str] = {
    "launch": "launch/outreach-launch",
    "send": "send-wave/outreach-send",
    "follow_up": "follow-up/outreach-follow-up",
    "report": "report/outreach-report",
}


def entrypoint(name: str) -> str:
    """`flows/<name>.py:<function>`, with an absolute path."""
    try:
        function = FLOW_FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown flow {name!r}; known: {', '.join(FLOW_FUNCTIONS)}") from None
    return f"{FLOWS_DIR / f'{name}.py'}:{function}"


def relative_entrypoint(name: str) -> str:
    """The entrypoint relative to the project root, as `prefect.yaml` writes it."""
    return f"flows/{name}.py:{FLOW_FUNCTIONS[name]}"


@cache
def load_flow(name: str) -> Any:
    """The `prefect.Flow` defined in `flows/<name>.py` (loaded once per process)."""
    from prefect.flows import load_flow_from_entrypoint

    return load_flow_from_entrypoint(entrypoint(name))
