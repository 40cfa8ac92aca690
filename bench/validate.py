"""Benchmark: how long `outreach validate`'s data checks take on a large contacts file.

    .venv/bin/python bench/validate.py [--count 50000]

Writes a synthetic file with scripts/make_sample_data.py into a temporary folder, then
times `check_sources` (contacts + groups + partners) and the whole `validate_campaign`
(including the translation and channel checks) and prints seconds, wall clock and CPU
(CPU is the fairer figure on a busy machine).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach import datafiles  # noqa: E402
from outreach.campaign import load_campaign  # noqa: E402
from outreach.contacts import check_sources  # noqa: E402
from outreach.settings import Settings  # noqa: E402
from outreach.validation import validate_campaign  # noqa: E402


def clear_caches() -> None:
    """Distinct values are checked once and cached; a benchmark must start cold."""
    for check in (datafiles.check_email, datafiles.check_phone_digits, datafiles.is_language_code):
        check.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    args = parser.parse_args()
    spec_file = importlib.util.spec_from_file_location(
        "make_sample_data", ROOT / "scripts" / "make_sample_data.py"
    )
    assert spec_file and spec_file.loader
    sample = importlib.util.module_from_spec(spec_file)
    sys.modules["make_sample_data"] = sample
    spec_file.loader.exec_module(sample)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        files = sample.write_sample(folder, count=args.count)
        print(f"generate {args.count:,} contacts: {time.perf_counter() - started:.2f} s")
        data = yaml.safe_load((ROOT / "campaigns" / "the-way-ahead.yaml").read_text())
        data["data"] = {name: str(path) for name, path in files.items()}
        campaign = folder / "campaign.yaml"
        campaign.write_text(yaml.safe_dump(data, allow_unicode=True))
        # Campaign translations live beside the spec (campaigns/locale).
        (folder / "locale").symlink_to(ROOT / "campaigns" / "locale", target_is_directory=True)
        settings = Settings(workdir=folder / "work")
        spec = load_campaign(campaign)
        clear_caches()
        started, cpu = time.perf_counter(), time.process_time()
        sources, problems = check_sources(spec, settings)
        elapsed = time.perf_counter() - started
        print(
            f"check_sources: {elapsed:.2f} s wall, {time.process_time() - cpu:.2f} s CPU for "
            f"{len(sources.contacts):,} contacts ({len(problems)} problems, "
            f"{len(sources.contacts) / elapsed:,.0f} rows/s)"
        )
        clear_caches()  # time the whole run cold, as a user's first run is
        started, cpu = time.perf_counter(), time.process_time()
        report = validate_campaign(campaign, settings)
        print(
            f"validate_campaign (all checks): {time.perf_counter() - started:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU ({len(report.problems)} problems)"
        )


if __name__ == "__main__":
    main()
