"""The public URLs a channel puts in front of people; tracking (helper E) serves them.

```python
from outreach.channels.links import rsvp_url
rsvp_url(settings, token)   # 'https://outreach.example.org/rsvp/<token>'
```
Only the signed token goes in a URL, never a name or an address.
"""

from __future__ import annotations

from urllib.parse import quote

from outreach.settings import Settings


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def rsvp_url(settings: Settings, token: str) -> str:
    """The RSVP page for the campaign, wave, channel and language the token names."""
    return f"{_base(settings)}/rsvp/{token}"


def unsubscribe_url(settings: Settings, token: str) -> str:
    """One-click unsubscribe (GET shows a page, POST unsubscribes: RFC 8058)."""
    return f"{_base(settings)}/u/{token}"


def click_url(settings: Settings, token: str, target: str) -> str:
    """A tracked redirect to `target` (the web app only redirects to URLs the campaign owns)."""
    return f"{_base(settings)}/r/{token}?to={quote(target, safe='')}"
