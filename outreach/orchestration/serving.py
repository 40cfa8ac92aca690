"""Serve the four flows as deployments: the one-machine installation's Prefect runner.

`outreach serve` starts this in a subprocess (`python -m outreach.orchestration.serving`)
next to the web app; it registers the deployments of `prefect.yaml`'s flows with the API
and runs each scheduled flow run when it is due (a scheduled follow-up, for instance).

```bash
PREFECT_API_URL=http://127.0.0.1:4200/api python -m outreach.orchestration.serving
```
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from outreach.orchestration.loading import DEPLOYMENTS, PROJECT_ROOT, relative_entrypoint


def deployments() -> list[Any]:
    """One `RunnerDeployment` per flow, named as in `prefect.yaml`."""
    from prefect.deployments.runner import RunnerDeployment

    out = []
    for name, full_name in DEPLOYMENTS.items():
        _, deployment_name = full_name.split("/", 1)
        out.append(
            RunnerDeployment.from_entrypoint(
                entrypoint=relative_entrypoint(name),
                name=deployment_name,
                tags=["outreach"],
            )
        )
    return out


def serve_flows(limit: int | None = None) -> None:
    """Register the deployments and run their flow runs when due (blocks)."""
    from prefect import serve

    # Entrypoints are relative to the project root, as in prefect.yaml.
    os.chdir(PROJECT_ROOT)
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    serve(*deployments(), limit=limit, print_starting_message=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="Concurrent flow runs.")
    args = parser.parse_args(argv)
    serve_flows(args.limit)


if __name__ == "__main__":
    main()
