"""A Prefect API server for one work directory, run as a quiet subprocess.

Outreach's embedded default is a local Prefect API, like Prefect's own ephemeral server,
but under our control: its database lives in `<workdir>/.prefect/`, its output goes to
`<workdir>/.prefect/server.log` (never to the officer's terminal), and it is stopped only
after the runs it recorded have reached the database.

`prefect_api(settings)` picks the API a command talks to, in this order:
1. `PREFECT_API_URL` when the user set it (a shared Prefect server in production);
2. the server `outreach serve` keeps running for this work directory (its address is in
   `<workdir>/.prefect/server.json`), so flows scheduled there and CLI runs meet;
3. otherwise a temporary server for the duration of the command.

```python
from outreach.orchestration import prefect_api

with prefect_api(settings) as api_url:
    load_flow("launch")(spec_path=..., workdir=str(settings.workdir))
```
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from outreach.orchestration.environment import BASE_DEFAULTS, prefect_environment, prefect_home
from outreach.settings import Settings


class PrefectServerError(RuntimeError):
    """The local Prefect API server did not start; the message says where its log is."""


class NoPrefectServer(RuntimeError):
    """Scheduling needs a Prefect server that outlives the command; none is running."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def api_is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


class LocalPrefectServer:
    """Prefect's API server (`prefect.server.api.server:create_app`) in a subprocess.

    `services="ephemeral"` starts only what running flows in-process needs (like Prefect's
    ephemeral server); `services="all"` adds the scheduler and the other loop services, for
    `outreach serve` and tests of scheduled runs.

    ```python
    server = LocalPrefectServer(settings, services="all")
    api_url = server.start()          # http://127.0.0.1:<port>/api
    ...
    server.stop()
    ```
    """

    def __init__(
        self,
        settings: Settings,
        *,
        services: str = "ephemeral",
        host: str = "127.0.0.1",
        port: int | None = None,
        database_url: str | None = None,
    ) -> None:
        self.settings = settings
        self.services = services
        self.host = host
        self.port = port or free_port(host)
        self.database_url = database_url
        self.home = prefect_home(settings)
        self.log_path = self.home / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    def _environment(self) -> dict[str, str]:
        env = {**BASE_DEFAULTS, **os.environ}  # what the user exported wins
        env.pop("PREFECT_API_URL", None)
        env["PREFECT_HOME"] = str(self.home)
        env["PREFECT_UI_ENABLED"] = "false"
        env["PREFECT__SERVER_FINAL"] = "1"
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        if self.services == "ephemeral":
            env["PREFECT__SERVER_EPHEMERAL"] = "1"
        else:
            env.pop("PREFECT__SERVER_EPHEMERAL", None)
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        return env

    def start(self, timeout: float | None = None) -> str:
        """Start the server and wait until `/health` answers; return the API URL."""
        prefect_environment(self.settings)
        timeout = timeout or float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        command = [
            sys.executable,
            "-m",
            "outreach.orchestration.guarded_server",
            str(os.getpid()),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--lifespan",
            "on",
        ]
        # Its own session: a Ctrl-C at the terminal reaches us, and we stop it in order.
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=self._environment(),
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrefectServerError(
                    f"the local Prefect server stopped at start (exit code "
                    f"{self.process.returncode}); see {self.log_path}"
                )
            if api_is_healthy(self.api_url, timeout=1.0):
                return self.api_url
            time.sleep(0.2)
        self.stop(drain=False)
        raise PrefectServerError(
            f"the local Prefect server did not answer within {timeout:.0f} s; see {self.log_path}"
        )

    def stop(self, *, drain: bool = True, timeout: float = 20.0) -> None:
        """Stop the server, after letting it record what clients already sent."""
        if self.process is None:
            return
        if drain and self.process.poll() is None:
            wait_until_recorded(self.api_url)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> LocalPrefectServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def flush_client_side() -> None:
    """Send the logs and events this process has queued to the API (if Prefect is loaded)."""
    if "prefect" not in sys.modules:
        return
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:
            pass  # never started: nothing was logged
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())


def wait_until_recorded(api_url: str, *, settle: float = 1.5, deadline: float = 30.0) -> None:
    """Wait until the server's count of task runs stops growing.

    Task runs reach the server as events and are written in batches; stopping the server
    while a batch is in flight loses it (and Prefect 3.8 prints a traceback for it).
    """
    flush_client_side()
    end = time.monotonic() + deadline
    last: int | None = None
    stable_since = time.monotonic()
    while time.monotonic() < end:
        try:
            response = httpx.post(f"{api_url}/task_runs/count", json={}, timeout=5.0)
            count = int(response.json())
        except (httpx.HTTPError, ValueError):
            return
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since >= settle:
            return
        time.sleep(0.25)


def _state_file(settings: Settings) -> Path:
    return prefect_home(settings) / "server.json"


def write_served_api(settings: Settings, api_url: str, pid: int) -> None:
    """Record the API `outreach serve` keeps running, for other commands in this workdir."""
    _state_file(settings).write_text(json.dumps({"api_url": api_url, "pid": pid}))


def clear_served_api(settings: Settings) -> None:
    _state_file(settings).unlink(missing_ok=True)


def served_api(settings: Settings) -> str | None:
    """The API URL of a running `outreach serve` for this work directory, if any."""
    path = _state_file(settings)
    try:
        api_url = str(json.loads(path.read_text())["api_url"])
    except (OSError, ValueError, KeyError):
        return None
    return api_url if api_is_healthy(api_url) else None


@contextmanager
def _using_api(api_url: str) -> Iterator[str]:
    """Point this process's Prefect client at `api_url` (also when Prefect is loaded)."""
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = api_url
    from prefect.settings import PREFECT_API_URL, temporary_settings

    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            try:
                yield api_url
            finally:
                flush_client_side()
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous


@contextmanager
def prefect_api(
    settings: Settings, *, services: str = "ephemeral", persistent: bool = False
) -> Iterator[str]:
    """Yield the Prefect API URL this command uses, starting a local server if needed.

    `persistent=True` refuses a temporary server (a run scheduled there would vanish with
    it) and raises `NoPrefectServer` instead.
    """
    prefect_environment(settings)
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        with _using_api(configured):
            yield configured
        return
    running = served_api(settings)
    if running:
        with _using_api(running):
            yield running
        return
    if persistent:
        raise NoPrefectServer(
            "no Prefect server is running for this work directory: start `outreach serve "
            f"--workdir {settings.workdir}` (or set PREFECT_API_URL to a shared Prefect server)"
        )
    server = LocalPrefectServer(settings, services=services)
    api_url = server.start()
    try:
        with _using_api(api_url):
            yield api_url
    finally:
        server.stop()
