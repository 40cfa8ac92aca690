"""The one channel-neutral message type that channels render and delivery senders send.

Modelled on listmonk's `models.Message`: a sender never needs to know which channel
produced a message, and a channel never needs to know how it leaves.

```python
from outreach.message import Attachment, Message

message = Message(
    delivery_id=42, campaign_id="the-way-ahead", wave=1, channel="email", language="es",
    to_address="ana@example.org", to_name="Ana", from_address="hello@org.example",
    from_name="The Way Ahead", subject="...", html="<p>...</p>", text="...",
    headers={"Content-Language": "es"}, token="<signed token>",
)
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass
class Message:
    """A rendered message ready to send. Holds personal data: never log or return it."""

    delivery_id: int | None
    campaign_id: str
    wave: int
    channel: str
    language: str
    to_address: str
    to_name: str
    from_address: str
    from_name: str
    subject: str
    html: str
    text: str
    token: str  # signed tracking token: ids only
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    # Per-recipient values for backends that substitute server-side (SendGrid).
    substitutions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What happened to one message. `transient` failures are retried; others are final."""

    delivery_id: int | None
    ok: bool
    provider_id: str | None = None
    error: str | None = None
    transient: bool = False


@runtime_checkable
class Sender(Protocol):
    """A delivery backend. Four methods, like listmonk's Messenger."""

    name: str

    def open(self) -> None:
        """Acquire connections (one SMTP connection serves many messages)."""

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        """Send a batch; return one result per message, in order. Never raise for one bad row."""

    def close(self) -> None:
        """Release connections."""
