"""Benchmark: delivery throughput against a loopback ingestion server, and today's way beside it.

    python scripts/bench_deliver.py [--events 4000] [--sample 150] [--network ours|stock|both]

Starts the test ingestion server (tests/ingestion_server.py, uvicorn) as its own process on this
machine, then for each added latency and --concurrency measures the events per second that
`pulse-backfill git` delivers (the delivery phase; derivation is timed by bench_derive.py).
Beside it runs a replica of today's way, the integration guide's script: a shell loop that
starts one process per event (curl), each with a fresh connection, over a sample of the events.
The client is httpx's AsyncClient over aiohttp's connections (httpx-aiohttp's transport). With
--network stock (or both), the same client goes over httpx's own transport (httpcore on anyio,
its pool sized by --concurrency) instead: the figures that decide which one delivers.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

import pulse_backfill.delivery.client as client_module  # noqa: E402
from fixtures.fast_import import build  # noqa: E402
from fixtures.synthetic import synthetic_history  # noqa: E402
from pulse_backfill.cli.display import Display  # noqa: E402
from pulse_backfill.commands.backfill import run_git_backfill  # noqa: E402
from pulse_backfill.commands.runs import GitBackfillSettings  # noqa: E402
from pulse_backfill.derive.derivation import DerivationOptions  # noqa: E402
from pulse_backfill.git.manifest import RepoSpec  # noqa: E402
from pulse_backfill.pulse.events import Event  # noqa: E402

KEY = "bench-key"


class StockClient(client_module.IngestionClient):
    """The same client over httpx's own transport (httpcore on anyio), its pool sized by
    --concurrency, in place of aiohttp's connections."""

    def __init__(self, *, concurrency: int = 1, **kwargs: Any) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        transport = httpx.AsyncHTTPTransport(limits=limits)
        super().__init__(concurrency=concurrency, transport=transport, **kwargs)


class Timer(Display):
    """Times the delivery phase and nothing else."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.started = self.stopped = 0.0

    def start_delivery(self, events: Sequence[Event]) -> None:
        self.started = time.perf_counter()

    def stop(self) -> None:
        self.stopped = time.perf_counter()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ingestion_server",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the ingestion server did not start") from None
            time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def ours(repo: Path, base_url: str, concurrency: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder:
        settings = GitBackfillSettings(
            repositories=(RepoSpec(location=str(repo)),),
            derivation=DerivationOptions(include_first=True),
            api_key=KEY,
            base_url=base_url,
            store_path=Path(folder) / "store.sqlite3",
            concurrency=concurrency,
        )
        timer = Timer()
        summary = run_git_backfill(settings, timer)
        assert summary.exit_code == 0, summary.undelivered[:3]
        sent = sum(summary.count(kind, "sent") for kind in ("change", "deployment"))
        return sent, timer.stopped - timer.started


def todays_way(bodies: list[str], base_url: str) -> float:
    """Events per second of one curl process, and one fresh connection, per event."""
    script = (
        "while IFS= read -r body; do curl -s -o /dev/null -X POST "
        '-H "Content-Type: application/json" --data-binary "$body" "$URL"; done'
    )
    url = f"{base_url}/v1/ingestion/cli?api_key={KEY}&system=bench"
    started = time.perf_counter()
    subprocess.run(
        ["bash", "-c", script],
        input="\n".join(bodies) + "\n",
        text=True,
        env={**os.environ, "URL": url},
        check=True,
    )
    return len(bodies) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=4000, help="about how many events")
    parser.add_argument("--sample", type=int, default=150, help="events sent today's way")
    parser.add_argument("--network", choices=["ours", "stock", "both"], default="ours")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "bench.git"
        commits, tags = synthetic_history(args.events, max(args.events // 100, 2), 0.0)
        build(repo, commits, tags)
        dry = subprocess.run(
            [
                sys.executable,
                "-m",
                "pulse_backfill",
                "git",
                str(repo),
                "--include-first",
                "--dry-run",
                "--output",
                "-",
                "--quiet",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        bodies = [
            json.dumps({k: v for k, v in json.loads(line).items() if k != "system"})
            for line in dry[: args.sample]
        ]
        print(
            f"{len(dry)} events ({len(commits)} commits, {len(tags)} tags), "
            f"today's way on a sample of {len(bodies)}"
        )
        networks = ["ours", "stock"] if args.network == "both" else [args.network]
        print(
            f"{'network':>8} {'latency':>8} {'concurrency':>12} {'events/s':>10} {'of ideal':>9} "
            f"{'today':>8} {'ratio':>7}"
        )
        for latency, levels in ((0.05, (1, 32, 64)), (0.0, (1, 8, 64))):
            server, base_url = start_server(latency)
            try:
                today = todays_way(bodies, base_url)
                for network, concurrency in [(n, c) for n in networks for c in levels]:
                    own = client_module.IngestionClient
                    if network == "stock":  # what `deliver` imports when it runs
                        client_module.IngestionClient = StockClient  # type: ignore[misc]
                    try:
                        sent, seconds = ours(repo, base_url, concurrency)
                    finally:
                        client_module.IngestionClient = own  # type: ignore[misc]
                    rate = sent / seconds
                    ideal = f"{rate / (concurrency / latency):8.0%}" if latency else "       -"
                    print(
                        f"{network:>8} {latency * 1000:6.0f}ms {concurrency:>12} {rate:>10.0f} "
                        f"{ideal} {today:>8.0f} {rate / today:>6.1f}x"
                    )
            finally:
                server.terminate()
                server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
