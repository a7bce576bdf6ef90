"""Benchmark: the hub's authenticated reads and writes under 50 concurrent clients, and audit
verification of 1,000,000 entries.

Everything runs on this machine: an embedded PostgreSQL in a temporary data folder, the hub
under uvicorn (``ctip serve``, a separate process), and a load client on loopback with 50
keep-alive connections, each with its own investigator API token. Each phase is bounded in
time and in requests. The baseline in the same run is ``GET /api/v1/health`` (no
authentication, one trivial query), so ratios show what authentication, row-level security,
decryption and the audit log cost.

- reads: ``GET /api/v1/cases/{id}`` of random own records, personal fields decrypted, each
  read audited (group commit) before the answer;
- writes: ``POST /api/v1/cases`` with one record (checked, encrypted, indexed, audited);
- audit: 1,000,000 chained entries written with ``COPY``, then ``verify`` (baseline: reading
  the same rows without checking them).

Results: ``bench/results/hub.json`` and a line in ``bench/results/hub.md``.
Usage: python bench/hub.py [--seconds 20] [--clients 50] [--audit-entries 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ctip.hub import admin
from ctip.hub.audit import canonical, link, micros, verify
from ctip.hub.cases import CaseBatch, create_cases
from ctip.hub.permissions import ROLE_PERMISSIONS, Principal
from ctip.hub.runtime import Hub
from ctip.hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench password not secret"


def fake_case(i: int) -> dict[str, Any]:
    return {
        "external_id": f"B-{i}",
        "first_name": f"Name{i % 500}",
        "last_name": f"Family{i % 977}",
        "birth_date": f"19{60 + i % 40}-0{1 + i % 9}-1{i % 9}",
        "identity_number": f"ID{i:09d}",
        "phone": f"+1 555 01{i % 100:02d}",
        "gender": random.choice(["Feminine", "Masculine"]),
        "citizenship": [random.choice(["NG", "GH", "RO", "VN", "PH"])],
        "year_of_registration": 2010 + i % 12,
        "exploitation_types": [random.choice(["SexualExploitation", "ForcedLabour"])],
        "legal_basis": "PublicTask",
    }


def prepare(data_dir: Path, clients: int, records: int) -> tuple[list[str], list[str]]:
    """Agency, 50 investigator tokens and seeded records; returns (tokens, case ids)."""
    settings = HubSettings(data_dir=data_dir)
    with Hub.open(settings) as hub:
        agency = admin.add_agency(hub, "Bench Agency")
        tokens = []
        for n in range(clients):
            email = f"inv{n}@bench.test"
            admin.add_user(hub, email, "Bench Agency", "investigator", PASSWORD)
            secret, _ = admin.token_for(hub, email, None, timedelta(days=1), "bench")
            tokens.append(secret)
        with hub.owner.connect() as connection:
            user_id = connection.execute(
                sa.text("SELECT id::text FROM users WHERE email = 'inv0@bench.test'")
            ).scalar_one()
        principal = Principal(
            user_id,
            agency["id"],
            "inv0@bench.test",
            "investigator",
            ROLE_PERMISSIONS["investigator"],
            "cli",
        )
        ids: list[str] = []
        for start in range(0, records, 1000):
            batch = CaseBatch(
                [fake_case(i) for i in range(start, min(records, start + 1000))], "bench seed"
            )
            ids += create_cases(hub, principal, batch)["case_ids"]
    return tokens, ids


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


def raw_get(path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


def raw_post(path: str, token: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def load(
    port: int, make: Any, clients: int, seconds: float, max_requests: int
) -> dict[str, Any]:
    """``clients`` connections issuing requests back to back; latency of each request."""
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    budget = [max_requests]

    async def client(n: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                started = time.perf_counter()
                status = await request(reader, writer, make(n))
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 400:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def wait_until_serving(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Wait (up to two minutes) until /api/v1/health answers 200."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"ctip serve exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as probe:
                probe.sendall(raw_get("/api/v1/health", None))
                if probe.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("ctip serve did not answer within two minutes")


def http_phases(
    data_dir: Path, tokens: list[str], ids: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "CTIP_DATA_DIR": str(data_dir)}
    log = (data_dir / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctip",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_serving(server, port, data_dir / "serve.log")
        bound = {
            "clients": args.clients,
            "seconds": args.seconds,
            "max_requests": args.max_requests,
        }
        asyncio.run(
            load(port, lambda n: raw_get("/api/v1/health", None), args.clients, 3, 2000)
        )  # warm-up
        baseline = asyncio.run(
            load(
                port,
                lambda n: raw_get("/api/v1/health", None),
                args.clients,
                args.seconds,
                args.max_requests,
            )
        )
        reads = asyncio.run(
            load(
                port,
                lambda n: raw_get(f"/api/v1/cases/{random.choice(ids)}", tokens[n]),
                args.clients,
                args.seconds,
                args.max_requests,
            )
        )
        counter = [10**7]

        def write(n: int) -> bytes:
            counter[0] += 1
            body = json.dumps(
                {"source": f"bench writer {n}", "records": [fake_case(counter[0])]}
            ).encode()
            return raw_post("/api/v1/cases", tokens[n], body)

        writes = asyncio.run(load(port, write, args.clients, args.seconds, args.max_requests))
        return {"bounds": bound, "baseline_health": baseline, "reads": reads, "writes": writes}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def audit_phase(data_dir: Path, entries: int) -> dict[str, Any]:
    settings = HubSettings(data_dir=data_dir)
    with Hub.open(settings) as hub:
        key = hub.audit.key
        started = time.perf_counter()
        with hub.owner.begin() as connection:
            head = connection.execute(sa.text("SELECT seq, hash FROM audit_head FOR UPDATE")).one()
            seq, previous = int(head[0]), bytes(head[1])
            raw = connection.connection.driver_connection
            assert raw is not None
            agency = connection.execute(sa.text("SELECT id::text FROM agencies LIMIT 1")).scalar()
            now = datetime.now(UTC)
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    "COPY audit_log (seq, at, agency_id, actor, action, target_type, target_id,"
                    " details, client, prev_hash, hash) FROM STDIN"
                ) as copy,
            ):
                for n in range(entries):
                    seq += 1
                    at = now + timedelta(microseconds=n)
                    details = json.dumps({"case_ids": [f"bench-{n}"]}, separators=(",", ":"))
                    content = canonical(
                        seq,
                        micros(at),
                        agency,
                        None,
                        None,
                        "inv0@bench.test",
                        "cases.read-personal",
                        "case",
                        f"c{n}",
                        details,
                        "bench",
                    )
                    digest = link(key, previous, content)
                    copy.write_row(
                        (
                            seq,
                            at,
                            agency,
                            "inv0@bench.test",
                            "cases.read-personal",
                            "case",
                            f"c{n}",
                            details,
                            "bench",
                            previous,
                            digest,
                        )
                    )
                    previous = digest
            connection.execute(
                sa.text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": seq, "h": previous}
            )
        written = time.perf_counter() - started
        with hub.owner.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text("VACUUM ANALYZE audit_log")
            )
        started = time.perf_counter()
        with hub.owner.connect() as connection:
            rows = sum(
                1
                for _ in connection.execute(
                    sa.text(
                        "SELECT seq, (EXTRACT(EPOCH FROM at) * 1000000)::bigint, agency_id::text,"
                        " subject_agency_id::text, actor_id::text, actor, action, target_type,"
                        " target_id, details, client, prev_hash, hash FROM audit_log ORDER BY seq"
                    ).execution_options(stream_results=True, yield_per=20_000)
                )
            )
        scan = time.perf_counter() - started
        started = time.perf_counter()
        single = verify(hub.owner, key, workers=1)
        checked_single = time.perf_counter() - started
        started = time.perf_counter()
        result = verify(hub.owner, key)
        checked = time.perf_counter() - started
    assert single.ok and single.entries == rows
    assert result.ok, result.problems
    return {
        "entries": result.entries,
        "write_seconds": round(written, 2),
        "scan_seconds_baseline": round(scan, 2),
        "verify_seconds": round(checked, 2),
        "verify_seconds_one_process": round(checked_single, 2),
        "verify_seconds_per_million": round(checked / result.entries * 1e6, 2),
        "verify_vs_scan": round(checked / scan, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--audit-entries", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(RESULTS / "hub.json"))
    args = parser.parse_args()
    random.seed(7)
    folder = Path(tempfile.mkdtemp(prefix="ctip-bench-hub-"))
    try:
        started = time.perf_counter()
        tokens, ids = prepare(folder, args.clients, args.records)
        print(
            f"prepared {len(ids):,} records, {len(tokens)} tokens in"
            f" {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        http = http_phases(folder, tokens, ids, args)
        print(json.dumps(http, indent=2), file=sys.stderr)
        audit = audit_phase(folder, args.audit_entries)
        print(json.dumps(audit, indent=2), file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    reads, writes, base = http["reads"], http["writes"], http["baseline_health"]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other work)",
        "python": platform.python_version(),
        "server": f"uvicorn (h11) with {args.workers} worker process(es), embedded PostgreSQL 18"
        " on a unix socket, load client in the same machine",
        **http,
        "read_vs_baseline_throughput": round(reads["per_second"] / base["per_second"], 3),
        "audit": audit,
        "goals": {
            "reads_per_second>=500": reads["per_second"] >= 500,
            "read_p99_ms<=100": reads["p99_ms"] <= 100,
            "audit_verify_s_per_million<=10": audit["verify_seconds_per_million"] <= 10,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    line = (
        f"| {result['date'][:10]} | {args.clients} | {reads['per_second']:.0f} |"
        f" {reads['p99_ms']:.1f} | {writes['per_second']:.0f} | {writes['p99_ms']:.1f} |"
        f" {base['per_second']:.0f} | {audit['verify_seconds_per_million']:.1f} |"
        f" {audit['scan_seconds_baseline'] / audit['entries'] * 1e6:.1f} |\n"
    )
    md = out.with_suffix(".md")
    if not md.exists():
        md.write_text(
            "# Hub benchmark (bench/hub.py)\n\nMachine shared with other engineers' work: "
            "figures are indicative.\n\n| date | clients | reads/s | read p99 ms | writes/s |"
            " write p99 ms | health/s (baseline) | audit verify s/M | scan s/M (baseline) |\n"
            "|---|---|---|---|---|---|---|---|---|\n"
        )
    with md.open("a") as handle:
        handle.write(line)
    print(json.dumps(result["goals"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
