"""Soak: a large history delivered through a bad night, checked event by event.

    python scripts/bench_soak.py [--events 100000] [--concurrency 32] [--fault-rate 0.1]

Builds a synthetic history of about --events events, starts the test ingestion server
(tests/ingestion_server.py) as its own process on this machine, failing --fault-rate of the
requests at random with a 503, a 429 with Retry-After: 1, or a connection dropped before or
after it took the event, and delivers the whole history with `pulse-backfill git`, default
retry policy, at --concurrency. It samples the client's memory as it runs, then checks that
every event arrived, and that only events the server took without the client hearing so
arrived twice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.fast_import import build  # noqa: E402
from fixtures.synthetic import synthetic_history  # noqa: E402
from scripts.bench_deliver import free_port  # noqa: E402


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    args = parser.parse_args()
    pulse = str(Path(sys.executable).parent / "pulse-backfill")

    with tempfile.TemporaryDirectory(prefix="pulse-soak-") as folder:
        repo, store, report = (Path(folder) / name for name in ("soak.git", "s.db", "r.json"))
        commits, tags = synthetic_history(args.events, max(args.events // 100, 2), 0.001)
        build(repo, commits, tags, branch_per_commit=False)
        export = subprocess.run(
            [pulse, "git", str(repo), "--include-first", "--dry-run", "--output", "-", "-q"],
            check=True,
            capture_output=True,
        ).stdout.splitlines()
        # What --output writes is each body with a "system" put before its last brace.
        bodies = sorted({line.rsplit(b',"system":', 1)[0] + b"}" for line in export})
        digest = hashlib.sha256(b"\n".join(bodies)).hexdigest()
        print(f"{len(export)} events ({len(commits)} commits, {len(tags)} tags)")

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.ingestion_server", "--port", str(port),
             "--fault-rate", str(args.fault_rate), "--report", str(report)],
            cwd=ROOT,
        )  # fmt: skip
        time.sleep(1.5)
        started = time.monotonic()
        client = subprocess.Popen(
            [pulse, "git", str(repo), "--include-first", "--base-url", f"http://127.0.0.1:{port}",
             "--store", str(store), "--concurrency", str(args.concurrency), "--quiet", "--json"],
            env={**os.environ, "PULSE_API_KEY": "soak-key"},
            stdout=subprocess.PIPE,
        )  # fmt: skip
        samples: list[tuple[float, float]] = []
        while client.poll() is None:
            try:
                samples.append((time.monotonic() - started, resident_mb(client.pid)))
            except FileNotFoundError:
                break
            time.sleep(2)
        summary = json.loads(client.communicate()[0])
        took = time.monotonic() - started
        server.send_signal(signal.SIGINT)
        server.wait()
        served = json.loads(report.read_text())

    rate = len(export) / took
    print(f"delivered in {took:.0f}s, exit code {client.returncode}: {rate:.0f} events/s")
    print(f"client memory (resident MB) every {max(1, len(samples) // 10) * 2} s:")
    step = max(1, len(samples) // 10)
    print("  " + "  ".join(f"{t:4.0f}s {mb:5.1f}" for t, mb in samples[::step]))
    print(f"  peak {max(mb for _, mb in samples):.1f} MB")
    print(
        f"server: {served['requests']} requests, {served['faults']} faults "
        f"({served['faults'] / served['requests']:.1%}), {served['taken']} events taken, "
        f"{served['distinct_taken']} distinct"
    )
    twice = served["taken"] - served["distinct_taken"]
    every = served["digest"] == digest and served["distinct_taken"] == len(bodies)
    print(f"every event arrived: {'yes' if every else 'NO'}")
    print(
        f"arrived twice: {twice}; taken without the client hearing so: "
        f"{served['taken_unheard']} ({'within' if twice <= served['taken_unheard'] else 'OVER'})"
    )
    print(f"not delivered: {len(summary['not_delivered'])}")
    return 0 if every and twice <= served["taken_unheard"] and client.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
