"""The messages that need translating: template strings and a campaign's own strings.

- **Template messages** are extracted from `templates/**` with Babel, using the
  Jinja2 extractor and the options in `babel.cfg` (which mirror the environments that
  render them, because a msgid depends on how Jinja parses the template).
- **Campaign strings** are the English texts of `event.title`, `event.description`,
  `event.venue.name`, `event.venue.access`, `channels.email.subject` (when the officer
  sets one) and every `barrier_answers` value; templates translate them with
  `_(spec.event.title)`. The group labels of the campaign's groups
  file ("Born outside the UK") are campaign strings too: the RSVP page shows them.

```python
from outreach.i18n.messages import template_messages, campaign_messages

[m.id for m in template_messages()]      # ['Dear %(name)s,', 'Hello,', ...]
[m.id for m in campaign_messages(spec)]  # ['The Way Ahead: sharing data ...', ...]
```

Extraction is cached until a template file changes, so `validate` and fallback
decisions can ask for it freely.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.util import pathmatch

from outreach.i18n.paths import BABEL_CFG, LOCALE_DIR, ROOT, TEMPLATES_DIR, display_path

MessageId = str | tuple[str, ...]


@dataclass(frozen=True)
class SourceMessage:
    """One message to translate: its msgid, gettext context and where it is used."""

    id: MessageId
    context: str | None = None
    locations: tuple[tuple[str, int | None], ...] = ()
    auto_comments: tuple[str, ...] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[MessageId, str | None]:
        return (self.id, self.context)

    @property
    def singular(self) -> str:
        return self.id[0] if isinstance(self.id, tuple) else self.id

    def reference(self) -> str:
        return " ".join(f"{f}:{line}" if line else f for f, line in self.locations)


class TemplateSyntaxProblem(Exception):
    """A template could not be parsed for extraction."""

    def __init__(self, path: str, error: Exception) -> None:
        super().__init__(f"{path}: {error}")
        self.path = path
        self.error = error


def _template_files() -> list[Path]:
    files = []
    for base, dirs, names in os.walk(TEMPLATES_DIR):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(base, d) != LOCALE_DIR)
        files.extend(Path(base, name) for name in sorted(names) if not name.startswith("."))
    return files


def _fingerprint() -> tuple[tuple[str, int], ...]:
    stamp = [(str(BABEL_CFG), BABEL_CFG.stat().st_mtime_ns)]
    stamp.extend((str(path), path.stat().st_mtime_ns) for path in _template_files())
    return tuple(stamp)


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]:
    with BABEL_CFG.open(encoding="utf-8") as handle:
        return parse_mapping_cfg(handle, filename=str(BABEL_CFG))


@lru_cache(maxsize=4)
def _extract(fingerprint: tuple[tuple[str, int], ...]) -> tuple[SourceMessage, ...]:
    method_map, options_map = _mapping()
    found: dict[tuple[MessageId, str | None], dict[str, Any]] = {}
    for path in _template_files():
        relative = path.relative_to(ROOT).as_posix()
        match = next(((p, m) for p, m in method_map if pathmatch(p, relative)), None)
        if match is None:
            continue
        pattern, method = match
        if method == "ignore":
            continue
        try:
            extracted = extract_from_file(
                method, str(path), options=options_map.get(pattern, {}), strip_comment_tags=True
            )
        except Exception as error:  # jinja2.TemplateSyntaxError and friends
            raise TemplateSyntaxProblem(relative, error) from error
        for lineno, message, comments, context in extracted:
            entry = found.setdefault((message, context), {"locations": [], "comments": []})
            entry["locations"].append((relative, lineno))
            entry["comments"].extend(c for c in comments if c not in entry["comments"])
    return tuple(
        SourceMessage(msgid, context, tuple(data["locations"]), tuple(data["comments"]))
        for (msgid, context), data in found.items()
    )


def template_messages() -> list[SourceMessage]:
    """Every translatable message in the templates (raises `TemplateSyntaxProblem`)."""
    return list(_extract(_fingerprint()))


# Field names of the spec whose English text is a campaign string, in catalog order.
_SPEC_FIELDS = (
    ("event.title", ("event", "title")),
    ("event.description", ("event", "description")),
    ("event.venue.name", ("event", "venue", "name")),
    ("event.venue.access", ("event", "venue", "access")),
    # An officer's own subject line replaces the template's, so it is translated like the
    # title: without this, every language's email went out with an English subject.
    ("channels.email.subject", ("channels", "email", "subject")),
)


def campaign_messages(spec: Any) -> list[SourceMessage]:
    """The campaign's own strings, each referenced by the spec field it comes from."""
    spec_file = display_path(spec.spec_path) if getattr(spec, "spec_path", None) else spec.id
    found: dict[str, list[tuple[str, int | None]]] = {}
    for label, attrs in _SPEC_FIELDS:
        value: Any = spec
        for attr in attrs:
            value = getattr(value, attr, None)
        if isinstance(value, str) and value.strip():
            found.setdefault(value, []).append((f"{spec_file}#{label}", None))
    for barrier, answer in (getattr(spec, "barrier_answers", None) or {}).items():
        if answer and answer.strip():
            found.setdefault(answer, []).append((f"{spec_file}#barrier_answers.{barrier}", None))
    for label, reference in _group_labels(spec):
        found.setdefault(label, []).append((reference, None))
    return [SourceMessage(text, None, tuple(locations)) for text, locations in found.items()]


def _group_labels(spec: Any) -> list[tuple[str, str]]:
    """Group labels from the groups file ("Born outside the UK"): the RSVP page shows them.

    An unreadable file contributes nothing here; the foundation's checks report it.
    """
    path = getattr(getattr(spec, "data", None), "groups", None)
    if path is None:
        return []
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return []
    return list(_read_group_labels(str(path), stamp))


@lru_cache(maxsize=16)
def _read_group_labels(path: str, stamp: int) -> tuple[tuple[str, str], ...]:
    import csv

    labels = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle), start=2):
                label = (row.get("label") or "").strip()
                if label:
                    labels.append((label, f"{display_path(Path(path))}#row {row_number} label"))
    except (OSError, UnicodeDecodeError, csv.Error):
        return ()
    return tuple(labels)


def build_template(messages: list[SourceMessage], *, project: str, domain_comment: str) -> Catalog:
    """A POT catalog holding `messages` (no translations)."""
    catalog = Catalog(
        project=project,
        version="1",
        copyright_holder="The Outreach contributors",
        msgid_bugs_address="",
        charset="utf-8",
        header_comment=f"# {domain_comment}\n# This file is generated; edit the templates.",
    )
    for message in messages:
        catalog.add(
            message.id,
            locations=[(f, line) for f, line in message.locations],
            auto_comments=list(message.auto_comments),
            context=message.context,
        )
    return catalog


def clear_cache() -> None:
    _extract.cache_clear()
