"""Regenerate the README's settings table from `Settings.model_fields`.

    .venv/bin/python scripts/settings_table.py          # rewrite README.md's section
    .venv/bin/python scripts/settings_table.py --check  # exit 1 if README is out of date

Only the text between `<!-- section:settings -->` and `<!-- /section:settings -->` changes.
"""

from __future__ import annotations

import argparse
import sys
from enum import Enum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.settings import Settings  # noqa: E402

START = "<!-- section:settings -->"
END = "<!-- /section:settings -->"
INTRO = """## Settings

Every setting is an environment variable (or a line in a `.env` file in the folder you run
`outreach` from). `--workdir` on any command overrides `OUTREACH_WORKDIR`. Paths left unset
derive from the work directory. This table is generated from `outreach/settings.py` by
`scripts/settings_table.py`; a test fails when they disagree.
"""


def _default(value: Any) -> str:
    if value is None or value == "":
        return "(unset)"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


def settings_table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    lines = ["| Environment variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{prefix}{name.upper()}` | {_default(field.default)} | {meaning} |")
    return "\n".join(lines)


def section() -> str:
    return f"{START}\n{INTRO}\n{settings_table()}\n{END}"


def updated_readme(text: str) -> str:
    start, end = text.index(START), text.index(END) + len(END)
    return text[:start] + section() + text[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    text = args.readme.read_text(encoding="utf-8")
    new = updated_readme(text)
    if args.check:
        if new != text:
            print(f"{args.readme}: settings table is out of date; run {Path(__file__).name}")
            return 1
        return 0
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
