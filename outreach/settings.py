"""One settings object for the whole of Outreach.

Every value can be set with an `OUTREACH_`-prefixed environment variable (or a `.env`
file in the current directory); the CLI's `--workdir` overrides `OUTREACH_WORKDIR`.
Paths that are not set explicitly derive from the work directory, so one directory
holds the embedded store, the outbox, the materials and the reports.

```python
from outreach.settings import Settings

settings = Settings(workdir="/tmp/campaign")
settings.database_url          # 'sqlite:////tmp/campaign/outreach.db'
settings.secret_key_value()    # generated once, then read from /tmp/campaign/secret.key
```
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TranslatorBackend = Literal[
    "catalog-only", "google", "deepl", "microsoft", "mymemory", "libretranslate"
]
DeliveryBackend = Literal["outbox", "smtp", "sendgrid"]
SmtpSecurity = Literal["none", "starttls", "tls"]
TaskRunnerKind = Literal["threads", "dask"]


class Settings(BaseSettings):
    """Outreach configuration. Field descriptions are the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="OUTREACH_", env_file=".env", extra="ignore", validate_default=True
    )

    workdir: Path = Field(
        Path("outreach-work"),
        description="Work directory: embedded store, outbox, materials, reports, secret key.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the store. Default: SQLite file `outreach.db` in the "
        "work directory. PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    outbox_dir: Path | None = Field(
        None, description="Maildir the `outbox` backend writes to. Default: `<workdir>/outbox`."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs tracking tokens. Default: generated on first use and kept "
        "in `<workdir>/secret.key`. Must be shared by every process of one installation.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL where `outreach serve` is reachable; links and QR codes use it.",
    )
    phone_region: str = Field(
        "GB", description="Region assumed for phone numbers written without a country code."
    )
    suppression_threshold: int = Field(
        5, ge=1, description="Counts below this are shown as `<N` in shared reports."
    )
    translator: TranslatorBackend = Field(
        "catalog-only",
        description="Machine translation backend: catalog-only (offline), google, deepl, "
        "microsoft, mymemory or libretranslate.",
    )
    translator_url: str = Field(
        "", description="Base URL of a self-hosted LibreTranslate (libretranslate backend)."
    )
    translator_api_key: SecretStr | None = Field(
        None, description="API key for deepl, microsoft or libretranslate, when needed."
    )
    translator_requests_per_second: float = Field(
        2.0, gt=0, description="Throttle for machine translation requests."
    )
    delivery_backend: DeliveryBackend = Field(
        "outbox", description="How email leaves: outbox (Maildir files), smtp or sendgrid."
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server host (smtp backend).")
    smtp_port: int = Field(25, description="SMTP server port.")
    smtp_security: SmtpSecurity = Field(
        "none", description="SMTP transport security: none, starttls or tls."
    )
    smtp_username: str = Field("", description="SMTP login name; empty for no login.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout: float = Field(30.0, description="SMTP socket timeout in seconds.")
    sendgrid_api_key: SecretStr | None = Field(None, description="SendGrid API key.")
    sendgrid_host: str = Field(
        "https://api.sendgrid.com",
        description="SendGrid API base URL (point it at a local server in tests).",
    )
    sendgrid_webhook_public_key: str = Field(
        "",
        description="SendGrid Event Webhook verification key (base64 DER, as SendGrid shows it).",
    )
    send_rate_per_second: float = Field(
        0.0, ge=0, description="Maximum messages per second per backend; 0 means no limit."
    )
    send_batch_size: int = Field(
        500, ge=1, description="Ledger rows claimed and sent per Prefect task run."
    )
    chunk_size: int = Field(
        5000, ge=1, description="Contacts read from the store and rendered per chunk."
    )
    task_runner: TaskRunnerKind = Field(
        "threads", description="Prefect task runner for chunked work: threads or dask."
    )
    dask_address: str = Field(
        "", description="Dask scheduler address; empty starts a local cluster (dask runner)."
    )
    max_workers: int = Field(4, ge=1, description="Threads or local Dask workers.")
    admin_token: SecretStr | None = Field(
        None, description="Bearer token for the web app's admin views; unset disables them."
    )

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        self.workdir = Path(self.workdir).expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.workdir / 'outreach.db'}"
        if self.outbox_dir is None:
            self.outbox_dir = self.workdir / "outbox"
        return self

    @property
    def materials_dir(self) -> Path:
        return self.workdir / "materials"

    @property
    def reports_dir(self) -> Path:
        return self.workdir / "reports"

    def ensure_workdir(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self.workdir

    def secret_key_value(self) -> str:
        """The signing key: the configured one, else the one stored in the work directory."""
        return self._secret

    @cached_property
    def _secret(self) -> str:
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.ensure_workdir() / "secret.key"
        if not path.exists():
            # O_EXCL: two processes starting at once must not write two different keys.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def get_settings(workdir: Path | str | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with the CLI's `--workdir` taking precedence."""
    if workdir is not None:
        overrides["workdir"] = Path(workdir)
    return Settings(**overrides)  # type: ignore[arg-type]
