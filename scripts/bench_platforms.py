"""Benchmark: a backfill of deployments through GitHub's and GitLab's APIs, far away.

    python scripts/bench_platforms.py [--deployments 5000] [--latency 0.1]

Serves a synthetic repository's --deployments deployments from the loopback API
(fixtures/platform_api.py, which answers as GitHub's and GitLab's REST APIs do) with --latency
seconds added to every answer, as github.com is far from a CI runner. For each source, from an
empty cache and store, it runs `pulse-backfill git` (no API key: the events are recorded in the
store) and reports the requests it made and the time it took; then a re-sync with nothing new,
and the requests it made (and how many of them were 304s, which cost no quota). It checks that
every source recorded the same deployments as the same rows given as a CD export.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.fast_import import CommitSpec, build  # noqa: E402
from fixtures.platform_api import ApiThread, GitHubRepo, GitLabProject, PlatformApi  # noqa: E402

BASE = 1_600_000_000


def run(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, object]]:
    """Wall seconds of one `pulse-backfill git`, in a process of its own, and its summary."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pulse_backfill", "git", *args, "--quiet", "--json"],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return time.monotonic() - started, json.loads(done.stdout)


def recorded(store: Path) -> list[str]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT body FROM events WHERE kind = 'deployment' ORDER BY body")
        return sorted(json.loads(body)["deploy_id"] for (body,) in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument(
        "--sources",
        nargs="+",
        default=["github:deployments", "github:actions:deploy.yml", "gitlab:deployments"],
    )
    options = parser.parse_args()
    count = options.deployments
    with tempfile.TemporaryDirectory(prefix="bench-platforms-") as folder:
        root = Path(folder)
        repo = root / "shop.git"
        commits = build(
            repo,
            [
                CommitSpec((i - 1,) if i else (), BASE + i * 600, BASE + i * 600)
                for i in range(count)
            ],
            [],
        )
        # One deployment an hour after each commit; one in ten failed first and was redeployed.
        rows = [(commits[n], BASE + n * 600 + 300) for n in range(count)]
        export = root / "export.csv"
        with ApiThread(PlatformApi()) as api:
            github = api.github["octo/shop"] = GitHubRepo()
            gitlab = api.gitlab["acme/shop"] = GitLabProject()
            lines = ["id,commit,time"]
            for sha, at in rows:
                number = github.deploy(sha, at - 120, [("in_progress", at - 60), ("success", at)])
                github.run("deploy.yml", sha, at - 120, at)
                gitlab.deploy(sha, at - 120, "success", at)
                lines.append(f"{number},{sha},{at}")
            export.write_text("\n".join(lines) + "\n")
            api.latency = options.latency
            env = {**os.environ, "GITHUB_TOKEN": "ghp_bench", "GITLAB_TOKEN": "glpat-bench"}
            print(
                f"{count} deployments of {count} commits, {options.latency * 1000:.0f} ms added "
                "to every answer"
            )
            print(
                f"{'source':28} {'first sync':>20}   re-syncs with nothing new: requests (304s), "
                "seconds"
            )
            expected = None
            for source in options.sources:
                store, cache = root / f"{source}.sqlite3", root / f"cache-{source}"
                args = [
                    str(repo), "--deployments-from", source, "--github-repo", "octo/shop",
                    "--github-url", api.github_url, "--gitlab-project", "acme/shop",
                    "--gitlab-url", api.gitlab_url, "--store", str(store), "--cache-dir",
                    str(cache), "--include-first",
                ]  # fmt: skip
                api.seen.clear()
                seconds, _summary = run(_only(args, source), env)
                first = len(api.seen)
                resyncs = []
                for _ in range(2):
                    api.seen.clear()
                    again, resummary = run(_only(args, source), env)
                    not_modified = sum(1 for seen in api.seen if seen.status == 304)
                    assert resummary["repositories"][0]["sync"] == "up to date"  # type: ignore[index]
                    resyncs.append(f"{len(api.seen)} ({not_modified}), {again:.1f} s")
                print(
                    f"{source:28} {first:5d} requests {seconds:5.1f} s   " + "; then ".join(resyncs)
                )
                ids = recorded(store)
                if source.startswith("github:deployments"):
                    expected = ids
                assert len(ids) == count, (source, len(ids))
            # The same rows as a CD export record the same deployments.
            store = root / "export.sqlite3"
            api.latency = 0
            run([str(repo), "--deployments-from", f"file:{export}", "--store", str(store),
                 "--include-first"], env)  # fmt: skip
            if expected is not None:
                assert recorded(store) == expected
                print("github:deployments recorded the same deployments as the CD export")
    return 0


def _only(args: list[str], source: str) -> list[str]:
    """The options of the platform `source` is on."""
    other = "--gitlab" if source.startswith("github") else "--github"
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith(other):
            skip = True
        else:
            kept.append(arg)
    return kept


if __name__ == "__main__":
    sys.exit(main())
