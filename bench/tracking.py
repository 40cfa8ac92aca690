"""Load benchmark of the tracking app: clicks, RSVP posts and SendGrid webhook batches.

Starts `outreach.tracking.app` with uvicorn on 127.0.0.1 (a separate process, as `outreach
serve` would), seeds a campaign with contacts and ledger rows, then drives it:

1. tracked-link clicks (`GET /r/{token}?to=...`, answered with a 302),
2. RSVP form posts (`POST /rsvp/{token}`, each with its own submission id, answered 303),
3. signed SendGrid webhook batches of 1,000 events each, plus one redelivered batch.

Clicks and RSVPs use `wrk` (Debian package) when it is installed, otherwise a bounded
asyncio httpx loop; webhooks always use httpx (each batch is signed at send time). Every
phase is bounded in time and count and talks only to loopback. Prints requests/second,
p99 latency and the events stored.

    .venv/bin/python bench/tracking.py [--seconds 10] [--connections 32] [--batches 20]
                                       [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.campaign import load_campaign  # noqa: E402
from outreach.settings import Settings  # noqa: E402
from outreach.store import Store  # noqa: E402
from outreach.store.models import Campaign, Contact, Delivery, Group, ResponseEvent  # noqa: E402
from outreach.tracking.tokens import TokenPayload, TokenSigner  # noqa: E402

GROUPS = [
    ("age", "18-24", "18 to 24", 0.12),
    ("age", "25-44", "25 to 44", 0.38),
    ("age", "45-64", "45 to 64", 0.3),
    ("age", "65+", "65 and over", 0.2),
    ("birth", "uk", "Born in the UK", 0.6),
    ("birth", "outside-uk", "Born outside the UK", 0.4),
]


def seed(store: Store, contacts: int) -> list[int]:
    spec = load_campaign(ROOT / "campaigns" / "the-way-ahead.yaml")
    with store.session() as session:
        session.add(
            Campaign(
                id=spec.id,
                title=spec.event.title,
                spec=spec.model_dump(mode="json"),
                source_language=spec.source_language,
            )
        )
        session.flush()
        for dimension, value, label, share in GROUPS:
            session.add(
                Group(
                    campaign_id=spec.id,
                    dimension=dimension,
                    value=value,
                    label=label,
                    population_share=share,
                )
            )
        session.add_all(
            Contact(contact_id=f"b{i}", email=f"b{i}@example.org", language="en")
            for i in range(contacts)
        )
    with store.session() as session:
        pks = list(session.scalars(select(Contact.id).order_by(Contact.id)))
        session.add_all(
            Delivery(
                campaign_id=spec.id,
                wave=1,
                recipient=f"c:{pk}",
                contact_pk=pk,
                channel="email",
                language="en",
                status="sent",
            )
            for pk in pks
        )
    with store.session() as session:
        return list(session.scalars(select(Delivery.id).order_by(Delivery.id)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workdir: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    code = (
        "import uvicorn\n"
        "from outreach.settings import Settings\n"
        "from outreach.tracking.app import create_app\n"
        f"uvicorn.run(create_app(Settings()), host='127.0.0.1', port={port}, "
        "log_level='warning', access_log=False)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(workdir))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError("the tracking app exited during startup")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the tracking app did not start within 60 s")


# -- load generators -------------------------------------------------------------------

RSVP_LUA = """
local counter = 0
local id = 0
local threads = {}
function setup(thread) thread:set("id", #threads + 1); table.insert(threads, thread) end
function init(args) id = tonumber(wrk.thread:get("id")) or 0 end
request = function()
  counter = counter + 1
  local body = "answer=yes&party_size=2&heard_via=radio&barriers=time&barriers=childcare"
    .. "&group_age=25-44&group_birth=outside-uk&submission_id=wrk" .. id .. "x" .. counter
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  return wrk.format("POST", wrk.path, headers, body)
end
"""


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(url: str, seconds: int, connections: int, script: str | None) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script or "")
    if script:
        args += ["-s", handle.name]
    output = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = _seconds(re.search(r"99%\s+([\d.]+\w+)", output).group(1))
    p50 = _seconds(re.search(r"50%\s+([\d.]+\w+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": total,
        "rps": rps,
        "p50_ms": p50 * 1000,
        "p99_ms": p99 * 1000,
        "errors": int(errors.group(1)) if errors else 0,
    }


async def _httpx_load(
    make_request, seconds: float, connections: int, max_requests: int = 200_000
) -> dict[str, float]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop and len(latencies) < max_requests:
                started = time.perf_counter()
                response = await make_request(client)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
    }


def load(url: str, seconds: int, connections: int, rsvp: bool) -> tuple[str, dict[str, float]]:
    if shutil.which("wrk"):
        return "wrk", run_wrk(url, seconds, connections, RSVP_LUA if rsvp else None)
    counter = iter(range(10**9))

    async def request(client: httpx.AsyncClient) -> httpx.Response:
        if not rsvp:
            return await client.get(url)
        data = {
            "answer": "yes",
            "party_size": "2",
            "barriers": ["time", "childcare"],
            "group_age": "25-44",
            "submission_id": f"httpx{next(counter)}x{uuid.uuid4().hex[:8]}",
        }
        return await client.post(url, data=data)

    return "httpx", asyncio.run(_httpx_load(request, seconds, connections))


def webhooks(
    base: str, private: ec.EllipticCurvePrivateKey, tokens: list[str], batches: int, size: int
) -> dict[str, float]:
    kinds = ["processed", "delivered", "open", "click", "delivered", "open"]
    bodies = []
    for b in range(batches):
        events = []
        for i in range(size):
            token = tokens[(b * size + i) % len(tokens)]
            events.append(
                {
                    "email": "someone@example.org",
                    "timestamp": int(time.time()),
                    "event": kinds[i % len(kinds)],
                    "sg_event_id": f"bench-{b}-{i}-{uuid.uuid4().hex[:6]}",
                    "sg_message_id": f"m{b}.{i}",
                    "token": token,
                }
            )
        bodies.append(json.dumps(events).encode())
    bodies.append(bodies[0])  # one redelivered batch: must store nothing new

    def headers(body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }

    latencies = []
    stored = duplicates = 0
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        for body in bodies:
            t0 = time.perf_counter()
            response = client.post(f"{base}/webhooks/sendgrid", content=body, headers=headers(body))
            latencies.append(time.perf_counter() - t0)
            response.raise_for_status()
            stored += response.json()["stored"]
            duplicates += response.json()["duplicates"]
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "batches": len(bodies),
        "events_per_s": (len(bodies) * size) / elapsed,
        "batch_p50_ms": statistics.median(latencies) * 1000,
        "batch_p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "stored": stored,
        "duplicates": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batches", type=int, default=20, help="webhook batches of --size")
    parser.add_argument("--size", type=int, default=1000, help="events per webhook batch")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="outreach-bench-tracking-"))
    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    env = {
        **os.environ,
        "OUTREACH_WORKDIR": str(workdir),
        "OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY": public,
        "PYTHONPATH": str(ROOT),
    }
    if args.database_url:
        env["OUTREACH_DATABASE_URL"] = args.database_url
    settings = Settings(workdir=workdir, database_url=args.database_url)
    store = Store(settings.database_url)
    store.upgrade()
    deliveries = seed(store, args.contacts)
    signer = TokenSigner(settings.secret_key_value())
    tokens = [
        signer.sign(TokenPayload("the-way-ahead", 1, "email", "en", delivery=d)) for d in deliveries
    ]
    flyer = signer.sign(TokenPayload("the-way-ahead", 1, "flyer", "en", point="bench"))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(workdir, env, port)
    try:
        target = "https%3A%2F%2Fmeet.example.org%2Fthe-way-ahead"
        tool, clicks = load(
            f"{base}/r/{tokens[0]}?to={target}", args.seconds, args.connections, False
        )
        _, rsvps = load(f"{base}/rsvp/{flyer}", args.seconds, args.connections, True)
        hooks = webhooks(base, private, tokens, args.batches, args.size)
    finally:
        server.terminate()
        server.wait(30)
    with store.session() as session:
        by_kind = dict(
            session.execute(
                select(ResponseEvent.kind, func.count(ResponseEvent.id)).group_by(
                    ResponseEvent.kind
                )
            ).all()
        )
        web = dict(
            session.execute(
                select(ResponseEvent.kind, func.count(ResponseEvent.id))
                .where(ResponseEvent.source == "web")
                .group_by(ResponseEvent.kind)
            ).all()
        )
    store.dispose()
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"tracking app, uvicorn (1 worker), {database}, load from {tool}, 2 cores")
    print(f"{'phase':<22}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, row in (("clicks (302)", clicks), ("RSVP posts (303)", rsvps)):
        print(
            f"{name:<22}{row['requests']:>10.0f}{row['rps']:>10.0f}{row['p50_ms']:>10.1f}"
            f"{row['p99_ms']:>10.1f}{row['errors']:>8.0f}"
        )
    print(
        f"webhooks: {hooks['batches']} batches of {args.size} events (last one redelivered): "
        f"{hooks['events_per_s']:.0f} events/s, batch p50 {hooks['batch_p50_ms']:.0f} ms, "
        f"p99 {hooks['batch_p99_ms']:.0f} ms; stored {hooks['stored']:.0f}, "
        f"duplicates ignored {hooks['duplicates']:.0f}"
    )
    print("events stored: " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())))
    # Every acknowledged request is in the store (a few more may have been in flight when
    # the load tool stopped counting).
    assert web.get("click", 0) >= clicks["requests"] - clicks["errors"], "lost clicks"
    assert web.get("rsvp", 0) >= rsvps["requests"] - rsvps["errors"], "lost RSVPs"
    assert hooks["stored"] == args.batches * args.size and hooks["duplicates"] == args.size
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
