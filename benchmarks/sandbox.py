"""Throughput and latency of the sandbox's JustiFi dialect under concurrent clients.

Starts a SandboxServer on a fresh state directory, then for each concurrency level runs a
fixed number of operations spread over that many concurrent clients (each its own
httpx.AsyncClient, i.e. its own connections). One operation is what a paying customer causes:
get a token, create a checkout, tokenize a card, complete the checkout (4 requests). Prints
JSON: a list of {"clients", "ops", "ops_per_s", "p50_ms", "p99_ms", "errors"}, latency per
operation. The server runs on its own thread in this process (as in the app); the clients run
in up to ``--processes`` child processes (asyncio + httpx), so they do not compete with the
server for this process's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)

CARD = {
    "name": "Leslie Knope",
    "number": "4242424242424242",
    "verification": "123",
    "month": 12,
    "year": 2040,
    "address_postal_code": "10001",
}


async def one_operation(client: httpx.AsyncClient) -> None:
    """token -> create checkout -> tokenize card -> complete; raises on any unexpected answer."""
    token = await client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    )
    token.raise_for_status()
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Sub-Account": SANDBOX_SUB_ACCOUNT,
    }
    created = await client.post(
        "/justifi/v1/checkouts",
        json={"amount": 1799, "description": "Benchmark sale"},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    _expect(created, 201)
    method = await client.post(
        "/justifi/v1/payment_methods",
        json={"payment_method": {"card": CARD}},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    _expect(method, 201)
    completion = await client.post(
        f"/justifi/v1/checkouts/{created.json()['id']}/complete",
        json={"payment_token": method.json()["id"], "payment_mode": "ecom"},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    _expect(completion, 201)
    if completion.json()["data"]["payment_status"] != "succeeded":
        raise RuntimeError(f"payment did not succeed: {completion.text}")


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} {response.text}")


async def run_clients(
    base_url: str, clients: int, ops: int, request_timeout: float
) -> dict[str, Any]:
    """``ops`` operations over ``clients`` concurrent clients; per-op latencies and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    remaining = ops

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            try:
                await one_operation(http)
            except Exception as exc:  # noqa: BLE001 - counted, and the first few reported
                errors.append(f"{type(exc).__name__}: {exc}")
            else:
                latencies.append(time.perf_counter() - start)

    https = [httpx.AsyncClient(base_url=base_url, timeout=request_timeout) for _ in range(clients)]
    try:
        started = time.time()
        await asyncio.gather(*(worker(http) for http in https))
        ended = time.time()
    finally:
        for http in https:
            await http.aclose()
    return {
        "started": started,
        "ended": ended,
        "latencies": latencies,
        "errors": errors,
    }


def client_process(args: argparse.Namespace) -> int:
    """A child: waits for a line on stdin (the start signal), runs, prints JSON."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    result = asyncio.run(run_clients(args.client, args.clients, args.ops, args.timeout))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def run_level(
    base_url: str, clients: int, ops: int, timeout: float, processes: int
) -> dict[str, Any]:
    """Clients run in child processes so they do not compete with the server for the GIL."""
    processes = max(1, min(processes, clients))
    children = []
    for index in range(processes):
        share_clients = clients // processes + (index < clients % processes)
        share_ops = ops // processes + (index < ops % processes)
        command = [
            sys.executable, __file__, "--client", base_url, "--clients", str(share_clients),
            "--ops", str(share_ops), "--timeout", str(timeout),
        ]  # fmt: skip
        children.append(
            subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        )
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a client process failed to start")
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate()
        results.append(json.loads(out.splitlines()[-1]))
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    return {
        "clients": clients,
        "ops": ops,
        "ops_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "errors": len(errors),
        **({"first_errors": errors[:3]} if errors else {}),
    }


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,64", help="comma-separated client counts")
    parser.add_argument("--ops", type=int, default=200, help="operations per level")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    parser.add_argument(
        "--processes",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 1),
        help="client processes per level, at most (default: one per core but one)",
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: run as a client
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        return client_process(args)
    levels = [int(level) for level in args.levels.split(",")]
    with tempfile.TemporaryDirectory() as state, SandboxServer(Path(state)) as server:
        # Warm up (first connections, SQLite pages) outside the measurements.
        run_level(server.base_url, 4, 8, args.timeout, 1)
        results = [
            run_level(server.base_url, level, max(args.ops, level), args.timeout, args.processes)
            for level in levels
        ]
    print(json.dumps(results, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
