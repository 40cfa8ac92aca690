"""Short, human-typable tracking codes ("RADIO-7K") standing for a token's payload.

A listener can say a code on the phone, a reader can type it from a flyer, a sign-in sheet
can record it; `resolve_code` turns it back into the campaign, wave, channel, language and
partner or distribution point it stands for.

```python
from outreach.channels.codes import issue_code, resolve_code

code = issue_code(store, TokenPayload("the-way-ahead", 1, "radio", "bn", partner="betar-fm"))
code                               # 'RADIO-7K' (same payload -> same code, every time)
resolve_code(store, "radio 7k")    # TokenPayload(... channel='radio', language='bn', ...)
```

Codes carry no personal data and are only issued for materials (never per contact): a
payload naming a delivery is refused. The alphabet leaves out 0/O, 1/I/L so codes survive
handwriting and phone lines.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from outreach.store import Store
from outreach.store.models import TrackingCode
from outreach.tracking.tokens import TokenPayload

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIXES = {"radio": "RADIO", "flyer": "FLYER", "partner_pack": "PACK", "email": "MAIL"}
_NOT_CODE = re.compile(r"[^0-9A-Z]")


def _prefix(channel: str) -> str:
    return PREFIXES.get(channel, re.sub(r"[^A-Z]", "", channel.upper())[:6] or "CODE")


def _candidates(payload: TokenPayload) -> list[str]:
    """Deterministic candidates, shortest first: the same payload tries the same codes."""
    seed = "|".join(
        str(part)
        for part in (
            payload.campaign,
            payload.wave,
            payload.channel,
            payload.language,
            payload.partner,
            payload.point,
        )
    )
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    suffix = ""
    out = []
    for _ in range(8):
        digest, index = divmod(digest, len(ALPHABET))
        suffix += ALPHABET[index]
        if len(suffix) >= 2:
            out.append(f"{_prefix(payload.channel)}-{suffix}")
    return out


def _existing(session, payload: TokenPayload) -> str | None:  # type: ignore[no-untyped-def]
    query = select(TrackingCode.code).where(
        TrackingCode.campaign_id == payload.campaign,
        TrackingCode.wave == payload.wave,
        TrackingCode.channel == payload.channel,
        TrackingCode.language == payload.language,
        TrackingCode.partner_id.is_(None)
        if payload.partner is None
        else TrackingCode.partner_id == payload.partner,
        TrackingCode.point.is_(None)
        if payload.point is None
        else TrackingCode.point == payload.point,
    )
    return session.scalars(query).first()


def issue_code(store: Store, payload: TokenPayload) -> str:
    """The code for `payload`, creating it on first use (idempotent, safe across processes)."""
    if payload.delivery is not None:
        raise ValueError("short codes are for materials; a per-delivery payload has a token")
    for _attempt in range(3):
        with store.session() as session:
            found = _existing(session, payload)
            if found:
                return found
            taken = set(
                session.scalars(
                    select(TrackingCode.code).where(TrackingCode.code.in_(_candidates(payload)))
                )
            )
        code = next(c for c in _candidates(payload) if c not in taken)
        try:
            with store.session() as session:
                session.add(
                    TrackingCode(
                        code=code,
                        campaign_id=payload.campaign,
                        wave=payload.wave,
                        channel=payload.channel,
                        language=payload.language,
                        partner_id=payload.partner,
                        point=payload.point,
                    )
                )
            return code
        except IntegrityError:
            continue  # another process issued a code at the same moment: look again
    raise RuntimeError(f"could not issue a tracking code for {payload}")


def normalise_code(text: str) -> str:
    """'radio 7k', 'Radio-7K', ' RADIO7K ' -> 'RADIO7K' (how codes are compared)."""
    return _NOT_CODE.sub("", text.upper())


def resolve_code(store: Store, code: str) -> TokenPayload | None:
    """What a code stands for, ignoring case, spaces and dashes; None if unknown."""
    wanted = normalise_code(code)
    if not wanted:
        return None
    with store.session() as session:
        row = session.scalars(
            select(TrackingCode).where(func.replace(TrackingCode.code, "-", "") == wanted)
        ).first()
        if row is None:
            return None
        return TokenPayload(
            campaign=row.campaign_id,
            wave=row.wave,
            channel=row.channel,
            language=row.language,
            partner=row.partner_id,
            point=row.point,
        )
