"""Every setting is documented in the README's generated settings table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from outreach.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def settings_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- section:settings -->(.*)<!-- /section:settings -->", text, flags=re.DOTALL
    )
    assert match, "README.md has no settings section"
    return match.group(1)


def test_every_setting_is_in_the_readme_table() -> None:
    section = settings_section()
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `(OUTREACH_[A-Z_]+)` \|[^|]*\| (.+) \|$", section, re.M)
    }
    missing = [
        f"OUTREACH_{name.upper()}"
        for name in Settings.model_fields
        if f"OUTREACH_{name.upper()}" not in rows
    ]
    assert missing == [], f"not in README's settings table: {missing}"
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description"
        assert rows[f"OUTREACH_{name.upper()}"].strip(), name


def test_readme_table_is_what_the_script_generates() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
