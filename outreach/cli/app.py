"""The Typer app and what every command shares: `--workdir`, settings, friendly errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from outreach.problems import InvalidInput
from outreach.settings import Settings, get_settings

app = typer.Typer(
    name="outreach",
    help="Community outreach campaigns: translated invitations for every channel, response "
    "tracking, and follow-ups toward the groups still underreached.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

WorkdirOption = Annotated[
    Path | None,
    typer.Option(
        "--workdir",
        envvar="OUTREACH_WORKDIR",
        help="Work directory for the store, outbox, materials and reports.",
        show_default="outreach-work",
    ),
]

# Exit codes: 0 fine, 1 problems found in the user's input, 2 usage error.
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

T = TypeVar("T")


def settings_for(workdir: Path | None) -> Settings:
    settings = get_settings(workdir)
    # Every later layer (Prefect flows in the same process, the web app) reads the same dir.
    os.environ["OUTREACH_WORKDIR"] = str(settings.workdir)
    return settings


def report_problems(error: InvalidInput) -> None:
    count = len(error.problems)
    err_console.print(f"[bold red]{count} problem{'s' if count != 1 else ''} found:[/]")
    for problem in error.problems:
        err_console.print(f"  • {problem}", markup=False, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into a plain message and a non-zero exit, never a traceback."""
    try:
        yield
    except InvalidInput as error:
        report_problems(error)
        raise typer.Exit(EXIT_PROBLEMS) from None
    except FileNotFoundError as error:
        err_console.print(f"[bold red]Not found:[/] {error.filename or error}")
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        err_console.print("Interrupted. Nothing already sent will be sent again on re-run.")
        sys.exit(130)


def run_guarded(func: Callable[[], T]) -> T:
    with user_errors():
        return func()
    raise AssertionError("unreachable")  # pragma: no cover
