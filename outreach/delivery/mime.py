"""Turn a channel-neutral `Message` into a MIME email.

Helper C's `outreach.channels.email.to_mime` is the one implementation when it exists;
until then (or if it is absent) this module builds the same structure itself:

    multipart/mixed
      multipart/alternative
        text/plain; charset=utf-8
        text/html; charset=utf-8
      <attachments, e.g. invite.ics as text/calendar; method=REQUEST>

The `Message-ID` is deterministic per ledger row (`<d42.w1.campaign@sender-domain>`), so
the one message that may be sent twice after a crash (see README "delivery") carries the
same id both times and mail clients collapse the pair.

```python
from outreach.delivery.mime import message_to_mime
mime = message_to_mime(message)
mime["Content-Language"]      # 'es'
```
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from outreach.message import Message

try:  # helper C's implementation, when present
    from outreach.channels.email import to_mime as _channels_to_mime  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on what has landed
    _channels_to_mime = None


def message_id_for(message: Message) -> str:
    domain = message.from_address.rpartition("@")[2] or "outreach.invalid"
    if message.delivery_id is None:
        return f"<{uuid.uuid4().hex}@{domain}>"
    return f"<d{message.delivery_id}.w{message.wave}.{message.campaign_id}@{domain}>"


def _address(name: str, address: str) -> str:
    try:
        return str(Address(display_name=name, addr_spec=address))
    except (ValueError, IndexError):
        return formataddr((name, address))


def build_mime(message: Message) -> EmailMessage:
    """Our own MIME builder (used when helper C's `to_mime` is not available)."""
    mime = EmailMessage()
    mime["From"] = _address(message.from_name, message.from_address)
    mime["To"] = _address(message.to_name, message.to_address)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(datetime.now(UTC))
    mime["Message-ID"] = message_id_for(message)
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    for name, value in message.headers.items():
        if name in mime:
            del mime[name]
        mime[name] = value
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    if message.html:
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
    for attachment in message.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *params_text = [part.strip() for part in rest.split(";")]
        params = dict(p.split("=", 1) for p in params_text if "=" in p)
        mime.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )
    return mime


def message_to_mime(message: Message) -> EmailMessage:
    """C's `to_mime` when present, else ours; either way with a deterministic Message-ID."""
    mime = _channels_to_mime(message) if _channels_to_mime is not None else build_mime(message)
    if message.delivery_id is not None:
        if "Message-ID" in mime:
            del mime["Message-ID"]
        mime["Message-ID"] = message_id_for(message)
    elif "Message-ID" not in mime:
        mime["Message-ID"] = message_id_for(message)
    return mime
