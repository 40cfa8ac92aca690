"""Prefect glue that is not a flow: environment, API server, flow loading, scheduling.

The flows themselves live in `flows/`; nothing here imports them (they are loaded by
entrypoint, as Prefect workers load them).
"""

from __future__ import annotations

from outreach.orchestration.environment import prefect_environment, prefect_home
from outreach.orchestration.loading import DEPLOYMENTS, FLOWS_DIR, entrypoint, load_flow
from outreach.orchestration.scheduling import schedule_follow_up
from outreach.orchestration.server import (
    LocalPrefectServer,
    NoPrefectServer,
    PrefectServerError,
    prefect_api,
)

__all__ = [
    "DEPLOYMENTS",
    "FLOWS_DIR",
    "LocalPrefectServer",
    "NoPrefectServer",
    "PrefectServerError",
    "entrypoint",
    "load_flow",
    "prefect_api",
    "prefect_environment",
    "prefect_home",
    "schedule_follow_up",
]
