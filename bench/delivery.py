"""Benchmark: a wave of synthetic contacts through each delivery backend, end to end.

    .venv/bin/python bench/delivery.py [--contacts 100000] [--backends outbox,smtp,sendgrid]

For each backend the wave goes through the real path: claim ledger rows in batches, check
consent / suppressions / minimum gap, render with the email channel (HTML + text + .ics),
send, mark every row. Backends:

- outbox: `.eml` files in a Maildir under a temporary work directory;
- smtp: a real aiosmtpd server on loopback (one connection, a ledger commit per message);
- sendgrid: a local HTTP server speaking v3 mail/send (1,000 personalizations a request).

The receiving servers run in this (parent) process; each wave is sent by a child process,
so its figures are its own: messages per second (wall clock), CPU seconds, and peak
memory (`ru_maxrss` of the child). 5% of the contacts have not consented (skipped).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOON = datetime(2027, 4, 14, 11, 0, tzinfo=UTC)
SECRET = "benchmark-only-secret"


def seed(url: str, contacts: int) -> None:
    from sqlalchemy import insert

    from outreach.campaign import load_campaign
    from outreach.store import Store
    from outreach.store.models import Campaign, Contact, Delivery, Wave

    spec = load_campaign(ROOT / "campaigns" / "the-way-ahead.yaml")
    store = Store(url)
    store.upgrade()
    languages = spec.target_languages
    with store.engine.begin() as connection:
        connection.execute(
            insert(Campaign),
            [{"id": spec.id, "title": spec.event.title, "spec": {}, "source_language": "en"}],
        )
        connection.execute(insert(Wave), [{"campaign_id": spec.id, "number": 1}])
        for start in range(0, contacts, 10_000):
            rows = range(start, min(contacts, start + 10_000))
            connection.execute(
                insert(Contact),
                [
                    {"id": i + 1, "contact_id": f"c{i}", "name": f"Person {i}",
                     "email": f"person{i}@example.org", "language": languages[i % len(languages)],
                     "consent_email": i % 20 != 7, "groups": "", "extra": {}}
                    for i in rows
                ],
            )  # fmt: skip
            connection.execute(
                insert(Delivery),
                [
                    {"campaign_id": spec.id, "wave": 1, "recipient": f"c:{i + 1}",
                     "contact_pk": i + 1, "channel": "email",
                     "language": languages[i % len(languages)], "status": "pending",
                     "attempts": 0}
                    for i in rows
                ],
            )  # fmt: skip
    store.dispose()


def child(args: argparse.Namespace) -> None:
    """Send the wave (the measured part) and print a JSON line of figures."""
    from outreach.campaign import load_campaign
    from outreach.delivery.service import send_wave
    from outreach.settings import Settings
    from outreach.store import Store

    spec = load_campaign(ROOT / "campaigns" / "the-way-ahead.yaml")
    settings = Settings(
        workdir=args.workdir, secret_key=SECRET, delivery_backend=args.child,
        smtp_host="127.0.0.1", smtp_port=args.port, sendgrid_api_key="SG.bench",
        sendgrid_host=f"http://127.0.0.1:{args.port}",
        send_batch_size=1000 if args.child == "sendgrid" else 500,
    )  # fmt: skip
    store = Store(args.url)
    started, cpu = time.perf_counter(), time.process_time()
    counts = send_wave(store, settings, spec, 1, now=NOON)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"sent": counts.sent, "skipped": counts.skipped, "failed": counts.failed,
                      "remaining": counts.remaining, "seconds": wall, "cpu": cpu,
                      "peak_mb": peak_mb}))  # fmt: skip


class CountingSmtp:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages += 1
        return "250 OK"


def sendgrid_server() -> tuple[ThreadingHTTPServer, dict[str, int]]:
    seen = {"requests": 0, "personalizations": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen["requests"] += 1
            seen["personalizations"] += len(body["personalizations"])
            self.send_response(202)
            self.send_header("X-Message-Id", f"bench{seen['requests']}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def run(backend: str, contacts: int, base: Path) -> dict[str, Any]:
    workdir = base / backend
    workdir.mkdir(parents=True)
    url = f"sqlite:///{workdir / 'outreach.db'}"
    seed(url, contacts)
    port, stop, received = 0, None, lambda: 0
    if backend == "smtp":
        from aiosmtpd.controller import Controller

        handler = CountingSmtp()
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        stop, received = controller.stop, lambda: handler.messages
    elif backend == "sendgrid":
        server, seen = sendgrid_server()
        port = server.server_address[1]
        stop, received = server.shutdown, lambda: seen["personalizations"]
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--url", url,
             "--workdir", str(workdir), "--port", str(port)],
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"{backend} failed:\n{result.stderr}")
        output = result.stdout
    finally:
        if stop is not None:
            stop()
    figures = json.loads(output.strip().splitlines()[-1])
    if backend == "outbox":
        figures["received"] = len(list((workdir / "outbox" / "new").iterdir()))
    else:
        figures["received"] = received()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--backends", default="outbox,smtp,sendgrid")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    base = Path(args.workdir or tempfile.mkdtemp(prefix="outreach-bench-delivery-"))
    print(f"{args.contacts:,} contacts (5% without consent), 10 languages; work in {base}")
    print(f"{'backend':<10}{'sent':>9}{'received':>10}{'seconds':>10}{'msg/s':>9}"
          f"{'msg/CPU s':>11}{'peak MB':>9}")  # fmt: skip
    for backend in args.backends.split(","):
        f = run(backend, args.contacts, base)
        print(f"{backend:<10}{f['sent']:>9,}{f['received']:>10,}{f['seconds']:>10.1f}"
              f"{f['sent'] / f['seconds']:>9.0f}{f['sent'] / f['cpu']:>11.0f}"
              f"{f['peak_mb']:>9.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
