"""Pick the delivery backend from settings.

```python
from outreach.delivery.senders import make_sender
sender = make_sender(settings)      # OutboxSender | SmtpSender | SendGridSender
```
"""

from __future__ import annotations

from outreach.message import Sender
from outreach.settings import Settings


def _secret(value: object) -> str:
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter is not None else value)


def make_sender(settings: Settings) -> Sender:
    """The sender `settings.delivery_backend` names, configured from settings."""
    rate = settings.send_rate_per_second
    if settings.delivery_backend == "smtp":
        from outreach.delivery.smtp import SmtpSender

        return SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=_secret(settings.smtp_password),
            timeout=settings.smtp_timeout,
            rate_per_second=rate,
        )
    if settings.delivery_backend == "sendgrid":
        from outreach.delivery.sendgrid_api import SendGridSender

        key = _secret(settings.sendgrid_api_key)
        if not key:
            raise ValueError(
                "OUTREACH_SENDGRID_API_KEY is not set; the sendgrid backend needs an API key"
            )
        return SendGridSender(api_key=key, host=settings.sendgrid_host, rate_per_second=rate)
    from outreach.delivery.outbox import OutboxSender

    assert settings.outbox_dir is not None
    return OutboxSender(settings.outbox_dir, rate_per_second=rate)
