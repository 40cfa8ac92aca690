"""Benchmark: render 10,000 personalised emails, and one flyer PDF.

    .venv/bin/python bench/render.py [--emails 10000] [--workdir DIR]

Prints emails per second (wall clock and per CPU second: on a shared machine the CPU
figure is the steadier one) (HTML + text + inlined CSS + .ics per message), how many
templates were loaded per language and compiled in total (the claim: one per template per
language at most, however many contacts), MIME serialisation speed, and the time of one
A4 flyer PDF (cold, including font loading, and warm).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.campaign import load_campaign  # noqa: E402
from outreach.channels import environment  # noqa: E402
from outreach.channels.email import EmailRecipient, render_emails  # noqa: E402
from outreach.channels.flyer import FlyerEdition, render_flyer  # noqa: E402
from outreach.delivery.mime import message_bytes  # noqa: E402
from outreach.settings import Settings  # noqa: E402
from outreach.tracking.tokens import TokenPayload  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--campaign", default=str(ROOT / "campaigns" / "the-way-ahead.yaml"))
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()

    spec = load_campaign(args.campaign)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="outreach-bench-"))
    settings = Settings(workdir=workdir, secret_key="benchmark-only-secret")
    languages = spec.target_languages
    recipients = [
        EmailRecipient(
            delivery_id=i + 1,
            contact_pk=i + 1,
            name=f"Synthetic Person {i}",
            email=f"synthetic{i}@example.org",
            language=languages[i % len(languages)],
        )
        for i in range(args.emails)
    ]
    answers = [spec.barrier_answers[k] for k in list(spec.barrier_answers)[:1]]

    environment.clear_cache()
    started, cpu = time.perf_counter(), time.process_time()
    messages = render_emails(spec, settings, 1, recipients, barrier_answers=answers)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    loads = {
        lang: environment.compilations(environment.template_env(lang, spec.id))
        for lang in languages
    }
    print(f"emails rendered:            {len(messages):,} in {len(languages)} languages")
    print(f"time:                       {elapsed:.2f} s wall, {cpu:.2f} s CPU")
    print(
        f"emails per second:          {len(messages) / elapsed:,.0f} wall, "
        f"{len(messages) / cpu:,.0f} per CPU second"
    )
    print(f"template loads per language: {sorted(set(loads.values()))} (3 templates each)")
    print(f"templates compiled in all:  {environment.code_compilations()}")

    sample = messages[: min(2000, len(messages))]
    started, cpu = time.perf_counter(), time.process_time()
    size = sum(len(message_bytes(m)) for m in sample)  # what delivery writes or sends
    mime_elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"MIME serialisation:         {len(sample) / mime_elapsed:,.0f} messages/s wall, "
        f"{len(sample) / cpu:,.0f} per CPU second "
        f"(average {size / len(sample) / 1024:.1f} KiB with the .ics)"
    )

    edition = FlyerEdition("flyer-a4", "A4")
    for label, language in (("cold", "bn"), ("warm", "ar"), ("warm", "zh")):
        payload = TokenPayload(spec.id, 1, "flyer", language, point="bench")
        started, cpu = time.perf_counter(), time.process_time()
        pdf = render_flyer(spec, settings, payload, "FLYER-7K", edition)
        print(
            f"flyer PDF A4 {language} ({label}):      {time.perf_counter() - started:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU, {len(pdf) / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
