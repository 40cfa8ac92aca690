"""Signed, URL-safe tracking tokens. They carry ids only, never personal data.

```python
from outreach.tracking.tokens import TokenPayload, TokenSigner

signer = TokenSigner(secret="...")
token = signer.sign(TokenPayload(campaign="the-way-ahead", wave=1, channel="flyer",
                                 language="ar", point="library-whitechapel"))
signer.verify(token).language      # 'ar'; a forged or altered token raises BadToken
```
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

# Short keys keep QR codes small (a smaller QR prints and scans better on a flyer).
_KEYS = {
    "campaign": "c",
    "wave": "w",
    "channel": "ch",
    "language": "l",
    "delivery": "d",
    "partner": "p",
    "point": "pt",
}


class BadToken(ValueError):
    """The token was not made by us, was altered, or is malformed."""


@dataclass(frozen=True)
class TokenPayload:
    campaign: str
    wave: int
    channel: str
    language: str
    delivery: int | None = None  # ledger row id, for a message to one contact
    partner: str | None = None
    point: str | None = None  # distribution point (a library, a GP surgery...)


class TokenSigner:
    def __init__(self, secret: str, salt: str = "outreach.tracking") -> None:
        self._serializer = URLSafeSerializer(secret, salt=salt)

    def sign(self, payload: TokenPayload) -> str:
        compact = {_KEYS[k]: v for k, v in vars(payload).items() if v is not None}
        return self._serializer.dumps(compact)

    def verify(self, token: str) -> TokenPayload:
        try:
            compact = self._serializer.loads(token)
        except BadSignature as exc:
            raise BadToken("token signature does not match") from exc
        if not isinstance(compact, dict):
            raise BadToken("token has no payload")
        reverse = {v: k for k, v in _KEYS.items()}
        try:
            return TokenPayload(**{reverse[k]: v for k, v in compact.items()})
        except (KeyError, TypeError) as exc:
            raise BadToken("token payload is malformed") from exc
