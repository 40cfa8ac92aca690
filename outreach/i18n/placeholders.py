"""Placeholder guard: what an engine (or a reviewer) must not translate, lose or change.

Before machine translation, every placeholder is swapped for an opaque token `⟦0⟧`,
`⟦1⟧`, ... that engines leave alone; afterwards the tokens are swapped back. A result
that lost, duplicated, invented or altered a token is refused (`PlaceholderError`), and
the restored text must carry exactly the source's placeholders.

Protected: Jinja `{{ ... }}` and `{% ... %}`, printf-style `%(name)s` / `%s` / `%%`,
`{name}` fields, HTML tags, URLs, email addresses, and tracking codes like `RADIO-7K`.

```python
from outreach.i18n.placeholders import protect, restore, placeholder_mismatch

shielded, saved = protect("Hello %(name)s, see https://x.org/a or call RADIO-7K")
shielded                           # 'Hello ⟦0⟧, see ⟦1⟧ or call ⟦2⟧'
restore("Hola ⟦0⟧, mira ⟦1⟧ o llama ⟦2⟧", saved)
placeholder_mismatch("Dear %(name)s", "Querido %(nombre)s")   # explains what changed
```
"""

from __future__ import annotations

import re
from collections import Counter

PLACEHOLDER = re.compile(
    r"""
      \{\{.*?\}\}                              # Jinja expression
    | \{%.*?%\}                                # Jinja statement
    | %\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]   # %(name)s
    | %[-#0+]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]   # %s, %d, %% (no space flag: "100% of")
    | \{[A-Za-z_][A-Za-z0-9_.]*(?:![rsa])?(?::[^{}]*)?\}   # {name}
    | </?[A-Za-z][^<>]*>                       # HTML tag
    | (?:https?://|www\.)[^\s<>"']+[^\s<>"'.,;:!?)\]]   # URL (no trailing punctuation)
    | [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}    # email address
    | \b[A-Z]{2,}(?:-[A-Z0-9]{1,8})+\b          # tracking code RADIO-7K
    """,
    re.VERBOSE | re.DOTALL,
)
TOKEN = re.compile(r"⟦\s*(\d+)\s*⟧")


class PlaceholderError(ValueError):
    """A translation lost, duplicated or changed a placeholder."""

    def __init__(self, source: str, result: str, reason: str) -> None:
        super().__init__(f"{reason} (source: {source!r}, result: {result!r})")
        self.source = source
        self.result = result
        self.reason = reason


def placeholders(text: str) -> list[str]:
    """Every placeholder in `text`, in order."""
    return [match.group(0) for match in PLACEHOLDER.finditer(text)]


def protect(text: str) -> tuple[str, list[str]]:
    """Replace placeholders with numbered tokens; return the text and the originals."""
    saved: list[str] = []

    def swap(match: re.Match[str]) -> str:
        saved.append(match.group(0))
        return f"⟦{len(saved) - 1}⟧"

    return PLACEHOLDER.sub(swap, text), saved


def restore(translated: str, saved: list[str], *, source: str = "") -> str:
    """Put the originals back; refuse a result that lost, repeated or invented a token."""
    seen = Counter(int(n) for n in TOKEN.findall(translated))
    lost = [i for i in range(len(saved)) if seen[i] == 0]
    repeated = [i for i, count in seen.items() if count > 1 and i < len(saved)]
    invented = [i for i in seen if i >= len(saved)]
    if lost or repeated or invented:
        parts = []
        if lost:
            parts.append("lost " + ", ".join(repr(saved[i]) for i in lost))
        if repeated:
            parts.append("repeated " + ", ".join(repr(saved[i]) for i in repeated))
        if invented:
            parts.append("added unknown placeholder tokens " + ", ".join(map(str, invented)))
        raise PlaceholderError(source, translated, "the engine " + "; ".join(parts))
    restored = TOKEN.sub(lambda m: saved[int(m.group(1))], translated)
    problem = placeholder_mismatch(source, restored) if source else None
    if problem:
        raise PlaceholderError(source, restored, problem)
    return restored


def placeholder_mismatch(source: str, translation: str) -> str | None:
    """Why `translation` does not carry exactly the placeholders of `source` (None if it does)."""
    want, got = Counter(placeholders(source)), Counter(placeholders(translation))
    if want == got:
        return None
    parts = []
    missing = want - got
    extra = got - want
    if missing:
        parts.append("missing " + ", ".join(sorted(missing)))
    if extra:
        parts.append("unexpected " + ", ".join(sorted(extra)))
    return "placeholders differ from the English: " + "; ".join(parts)
