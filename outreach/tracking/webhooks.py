"""SendGrid's signed Event Webhook: verify, then turn events into response events.

SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the base64 DER
signature and the timestamp in the `X-Twilio-Email-Event-Webhook-Signature` and
`-Timestamp` headers; the verification key is shown (base64 DER) in SendGrid's mail
settings. This is the same construction as `sendgrid.helpers.eventwebhook.EventWebhook`.

Delivery's SendGrid sender (`outreach.delivery.sendgrid_api`) puts the signed token in
each personalization's `custom_args` as `token`, and SendGrid echoes custom arguments as
top-level fields of every event (`TOKEN_ARGS`; `outreach_token` is accepted too). Events
without a valid token (another system sharing the account) are acknowledged and ignored.

```python
verifier = WebhookVerifier(settings.sendgrid_webhook_public_key)
verifier.verify(body, signature, timestamp)         # raises WebhookRejected
rows, suppressions, ignored = map_events(json.loads(body), signer)
```
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from outreach.tracking.tokens import BadToken, TokenPayload, TokenSigner

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TOKEN_ARGS = ("token", "outreach_token")  # custom_args names, in order of preference
MAX_AGE_SECONDS = 600

# SendGrid event name -> our response event kind.
KINDS = {
    "processed": "processed",
    "deferred": "deferred",
    "delivered": "delivered",
    "open": "open",
    "click": "click",
    "bounce": "bounce",
    "dropped": "dropped",
    "spamreport": "spamreport",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "group_resubscribe": "resubscribe",
}


class WebhookRejected(Exception):
    """The request is not a fresh, authentic SendGrid webhook (answer 400/401/403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WebhookVerifier:
    """Checks SendGrid's ECDSA signature and the timestamp's freshness."""

    def __init__(self, public_key_b64: str, max_age: int = MAX_AGE_SECONDS) -> None:
        try:
            key = load_der_public_key(base64.b64decode("".join(public_key_b64.split())))
        except (ValueError, binascii.Error) as exc:
            raise ValueError("the SendGrid webhook public key is not base64 DER") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("the SendGrid webhook public key is not an EC key")
        self._key = key
        self.max_age = max_age

    def verify(
        self, body: bytes, signature: str | None, timestamp: str | None, *, now: float | None = None
    ) -> None:
        if not signature or not timestamp:
            raise WebhookRejected(401, "missing signature headers")
        try:
            sent = int(timestamp)
        except ValueError:
            raise WebhookRejected(400, "timestamp is not a number") from None
        current = time.time() if now is None else now
        if abs(current - sent) > self.max_age:
            raise WebhookRejected(403, "stale timestamp")
        try:
            raw_signature = base64.b64decode(signature, validate=True)
        except binascii.Error:
            raise WebhookRejected(403, "signature is not base64") from None
        try:
            self._key.verify(raw_signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise WebhookRejected(403, "signature does not match") from None


@dataclass(frozen=True)
class SuppressionRequest:
    reason: str  # bounce | spamreport | unsubscribe
    delivery_id: int | None
    campaign_id: str
    email: str | None


def _hard_reason(event: dict[str, Any]) -> str | None:
    """The suppression an event calls for, if any."""
    name = event.get("event")
    if name == "bounce":
        # `type: blocked` is a temporary refusal (reputation, content): not an address problem.
        return None if event.get("type") == "blocked" else "bounce"
    if name == "dropped":
        reason = str(event.get("reason", "")).lower()
        if "unsubscrib" in reason:
            return "unsubscribe"
        if "spam" in reason:
            return "spamreport"
        return "bounce"
    if name == "spamreport":
        return "spamreport"
    if name in ("unsubscribe", "group_unsubscribe"):
        return "unsubscribe"
    return None


def _occurred(event: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(event["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def event_id(event: dict[str, Any]) -> str:
    """SendGrid's `sg_event_id`, or a hash of the event when it has none."""
    if event.get("sg_event_id"):
        return f"sendgrid:{event['sg_event_id']}"
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"))
    return "sendgrid:h" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def map_events(
    events: Any, signer: TokenSigner
) -> tuple[list[dict[str, Any]], list[SuppressionRequest], int]:
    """(response event rows, suppressions to apply, events ignored) for a webhook batch."""
    if not isinstance(events, list):
        raise WebhookRejected(400, "body is not a JSON list of events")
    rows: list[dict[str, Any]] = []
    suppressions: list[SuppressionRequest] = []
    ignored = 0
    verified: dict[str, TokenPayload | None] = {}  # one message has several events
    for event in events:
        if not isinstance(event, dict):
            ignored += 1
            continue
        kind = KINDS.get(str(event.get("event", "")))
        token = next((event[k] for k in TOKEN_ARGS if isinstance(event.get(k), str)), None)
        if kind is None or not isinstance(token, str):
            ignored += 1
            continue
        if token not in verified:
            try:
                verified[token] = signer.verify(token)
            except BadToken:
                verified[token] = None
        payload = verified[token]
        if payload is None:
            ignored += 1
            continue
        data: dict[str, Any] = {}
        for key in ("type", "reason", "status", "url", "sg_machine_open", "bounce_classification"):
            if key in event:
                data[key] = event[key]
        rows.append(
            {
                "external_id": event_id(event),
                "campaign_id": payload.campaign,
                "wave": payload.wave,
                "channel": payload.channel,
                "language": payload.language,
                "kind": kind,
                "source": "sendgrid",
                "delivery_id": payload.delivery,
                "partner_id": payload.partner,
                "point": payload.point,
                "data": data,
                "occurred_at": _occurred(event),
            }
        )
        reason = _hard_reason(event)
        if reason is not None:
            email = event.get("email")
            suppressions.append(
                SuppressionRequest(
                    reason,
                    payload.delivery,
                    payload.campaign,
                    email if isinstance(email, str) else None,
                )
            )
    return rows, suppressions, ignored
