"""Shared fixtures: settings in a temporary work directory, and stores on real databases.

`store` runs a test against SQLite and, when `OUTREACH_TEST_POSTGRES_URL` is set, against
PostgreSQL too. Each pytest session gets its own PostgreSQL database (created and dropped
here), so parallel runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from outreach.settings import Settings
from outreach.store import Store, normalise_url

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CAMPAIGN = ROOT / "campaigns" / "the-way-ahead.yaml"
POSTGRES_URL = os.environ.get("OUTREACH_TEST_POSTGRES_URL", "")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def settings(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OUTREACH_WORKDIR", str(workdir))
    return Settings(workdir=workdir, secret_key="test-secret-key-not-for-production")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; skipped without a server URL."""
    if not POSTGRES_URL:
        pytest.skip("OUTREACH_TEST_POSTGRES_URL is not set")
    admin_url = make_url(normalise_url(POSTGRES_URL))
    name = f"outreach_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL of each kind (PostgreSQL skipped when not configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("postgres_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated, empty store on SQLite and (when configured) PostgreSQL."""
    instance = Store(database_url)
    instance.upgrade()
    yield instance
    instance.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store, for tests whose subject is not the database."""
    instance = Store(f"sqlite:///{tmp_path / 'store.db'}")
    instance.upgrade()
    yield instance
    instance.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Send Prefect's queued logs and stop its temporary API servers while pytest's output
    is still open.

    Left to interpreter exit, both wrote under a green summary: the temporary server's
    "Stopping" message went to a stream pytest had closed ("Logging error" traceback), and
    logs still queued for a test's own server, stopped by its fixture before the two-second
    batch went out, came back as "Error logging to API". Those logs were for a server that
    no longer exists, so failing to deliver them is not worth a message; during the tests
    themselves logging errors still report as usual.
    """
    import logging

    try:
        from prefect.logging.handlers import APILogWorker
        from prefect.server.api.server import SubprocessASGIServer
    except ImportError:  # Prefect is not installed: nothing was started
        return
    # Prefect's log worker reports failures only while this is set. Its client retries a
    # stopped server with backoff for longer than a drain should wait, so the report
    # would still come at exit: the session is over, keep it off.
    logging.raiseExceptions = False
    APILogWorker.drain_all(timeout=5)
    running = [s for s in list(SubprocessASGIServer._instances.values()) if s.running]
    prefect_logger = logging.getLogger("prefect")
    level = prefect_logger.level
    prefect_logger.setLevel(logging.WARNING)
    try:
        for server in running:
            server.stop()
    finally:
        prefect_logger.setLevel(level)
