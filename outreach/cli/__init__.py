"""The `outreach` command. One module per verb; each registers itself on `app`."""

from __future__ import annotations

from outreach.cli import (
    demo,  # noqa: F401  (registers commands)
    follow_up,  # noqa: F401  (registers commands)
    launch,  # noqa: F401  (registers commands)
    preview,  # noqa: F401  (registers commands)
    report,  # noqa: F401  (registers commands)
    responses,  # noqa: F401  (registers commands)
    serve,  # noqa: F401  (registers commands)
    simulate,  # noqa: F401  (registers commands)
    translate,  # noqa: F401  (registers commands)
    validate,  # noqa: F401  (registers commands)
)
from outreach.cli.app import app

__all__ = ["app"]
