"""Benchmark: an organisation's repositories over smart HTTP, one at a time and several at once.

    python scripts/bench_org.py [--repos 40] [--latency 0.15] [--commits 2000] [--jobs 1 8]

Serves --repos bare repositories (synthetic histories with merges, skew and release tags, each
its own) from a loopback git smart-HTTP server (`git http-backend`, fixtures/git_http_server.py)
that delays every answer by --latency seconds, as a hosted git service far away would. For each
--jobs, from an empty cache and store, it times the first sync of them all as URLs (clones, no
API key: recorded in the store) and then a nightly re-sync with nothing new (fetches only), and
the CPU time of each (this process's and git's). Then it checks that every --jobs recorded the
same events, row by row: what --jobs must never change.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.fast_import import build  # noqa: E402
from fixtures.git_http_server import GitHttpServer  # noqa: E402
from fixtures.synthetic import synthetic_history  # noqa: E402


def make_repositories(root: Path, count: int, commits: int) -> None:
    for n in range(count):
        specs, tags = synthetic_history(commits, max(commits // 80, 2), 0.001, seed=n)
        path = root / f"service-{n:03d}.git"
        build(path, specs, tags, branch_per_commit=False)
        subprocess.run(
            ["git", "-C", str(path), "config", "uploadpack.allowFilter", "true"], check=True
        )


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(manifest: Path, jobs: int, cache: Path, store: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one `pulse-backfill git --repos`, in a process of its own."""
    started, cpu = time.monotonic(), cpu_seconds()
    subprocess.run(
        [
            sys.executable, "-m", "pulse_backfill", "git", "--repos", str(manifest),
            "--jobs", str(jobs), "--cache-dir", str(cache), "--store", str(store),
            "--include-first", "--quiet",
        ],
        check=True,
        cwd=ROOT,
    )  # fmt: skip
    return time.monotonic() - started, cpu_seconds() - cpu


def store_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT s.origin, e.system, e.kind, e.identifier, e.body FROM events e"
            " JOIN syncs s ON s.id = e.origin ORDER BY e.id"
        ).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repos", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--commits", type=int, default=2000, help="per repository")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-org-") as folder:
        work = Path(folder)
        served = work / "served"
        served.mkdir()
        make_repositories(served, args.repos, args.commits)
        with GitHttpServer(served, latency=args.latency) as server:
            manifest = work / "repos.txt"
            manifest.write_text(
                "".join(f"{server.base_url}/{p.name}\n" for p in sorted(served.glob("*.git")))
            )
            print(
                f"{args.repos} repositories of {args.commits} commits over smart HTTP, "
                f"{args.latency * 1000:.0f} ms a request"
            )
            print(f"{'':>8}  {'first sync':>22}  {'re-sync, nothing new':>24}  requests")
            results = {}
            for jobs in args.jobs:
                cache, store = work / f"cache-{jobs}", work / f"store-{jobs}.sqlite3"
                before = server.requests
                first = run(manifest, jobs, cache, store)
                middle = server.requests
                again = run(manifest, jobs, cache, store)
                results[jobs] = (first, again, store)
                print(
                    f"jobs {jobs:<3}  {first[0]:>7.1f} s ({first[1]:>5.1f} s CPU)  "
                    f"{again[0]:>9.1f} s ({again[1]:>5.1f} s CPU)  "
                    f"{middle - before} + {server.requests - middle}"
                )
        one, *others = args.jobs
        rows = store_rows(results[one][2])
        for jobs in others:
            same = store_rows(results[jobs][2]) == rows
            speed_first = results[one][0][0] / results[jobs][0][0]
            speed_again = results[one][1][0] / results[jobs][1][0]
            print(
                f"jobs {jobs} against {one}: first sync {speed_first:.1f}x, re-sync "
                f"{speed_again:.1f}x faster; {len(rows)} events recorded, "
                f"{'the same, row by row' if same else 'NOT THE SAME'}"
            )
            if not same:
                sys.exit(1)


if __name__ == "__main__":
    main()
