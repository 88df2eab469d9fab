"""Benchmark: the derivation against git's floor, on a real repository or a synthetic one.

    python scripts/bench_derive.py [--repo PATH] [--runs 7] [--keep DIR]
                                   [--commits 200000] [--tags 1000] [--skew 0.001]

With --repo, any local clone (bare or not); without, a synthetic repository built once (in DIR
or a temporary folder) with fixed dates: a main line with merged feature branches, release
tags, maintenance releases on release branches, and about 0.1% of commits dated before a
parent, some by years (clock skew, as real histories have). Then, in pairs, one after the other:
  floor:  git log --format='%H %P %ct' <every release tag>     (one pass over the history)
  derive: pulse-backfill git REPO --dry-run --output /dev/null  (start-up included)
and prints the median and the best of the pairs' ratios, and each one's peak memory; and, measured
in the same turns:
  start-up: what any run pays before git starts (pulse-backfill --version), and the derivation
            less it against the floor
  skeleton: a Python program that imports typer and GitPython, then reads the floor's log
            through a pipe and does nothing with it: the least a tool on this stack can take
Then the re-sync, on a copy of the repository and a fresh store (no key: the events are recorded):
  first sync, recorded in the store (the whole history), in pairs with a dry run (the target:
  at most 1.5 times it), each into a fresh store
  re-sync with nothing new
  re-sync after one new commit and release tag
each the median of --runs, against the derivation's median (the target: at most 25% of it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.fast_import import build  # noqa: E402
from fixtures.synthetic import synthetic_history  # noqa: E402
from pulse_backfill.derive.releases import TagRules  # noqa: E402

# The skeleton: the interpreter, the stack's two libraries imported (GitPython runs `git version`),
# and git's output read line by line through a pipe (fully buffered, as the tool has it), nothing
# done with it: what any run on this stack pays before it derives anything.
_SKELETON = """\
import os, subprocess, sys
import git, typer
log = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, env={**os.environ, "GIT_FLUSH": "0"})
for line in log.stdout:
    pass
sys.exit(log.wait())
"""


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one run of `command` (in a fresh measuring process)."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, help="a local clone to measure on")
    parser.add_argument("--commits", type=int, default=200_000)
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument(
        "--skew", type=float, default=0.001, help="share of commits dated before a parent"
    )
    parser.add_argument("--keep", type=Path, help="build the synthetic repository here; keep it")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    if args.repo is not None:
        repo = Path(git(args.repo, "rev-parse", "--absolute-git-dir").strip())
    else:
        repo = (args.keep or folder) / f"synthetic-{args.commits}-{args.tags}-{args.skew}.git"
        if not repo.exists():
            started = time.perf_counter()
            commits, tags = synthetic_history(args.commits, args.tags, args.skew)
            # One branch, as a real repository has a few: not a ref file per commit.
            build(repo, commits, tags, branch_per_commit=False)
            took = time.perf_counter() - started
            print(f"built {repo} ({len(commits)} commits, {len(tags)} tags) in {took:.1f}s")
    rules = TagRules()
    releases = [name for name in git(repo, "tag").split() if rules.match(name)[0]]
    count = git(repo, "rev-list", "--count", *releases).strip() if releases else "0"
    print(f"{repo}: {len(releases)} release tags, {count} commits")

    floor_cmd = ["git", "--git-dir", str(repo), "log", "--format=%H %P %ct", *releases]
    pulse = shutil.which("pulse-backfill") or str(Path(sys.executable).parent / "pulse-backfill")
    # Start-up as users have it: an install compiles our modules once (pip at install time, an
    # editable install on first import), unless PYTHONDONTWRITEBYTECODE is set, as on some CI
    # machines; then every run would compile them again.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "pulse_backfill")], check=True
    )
    derive_cmd = [pulse, "git", str(repo), "--dry-run", "--output", "/dev/null", "--quiet"]
    # What any run pays before it asks git for anything: the interpreter, our imports and
    # GitPython's (which runs `git version`), as `--version` pays them.
    startup_cmd = [pulse, "--version"]
    # The least a Python tool on this stack pays to read the floor's log, doing nothing with it.
    skeleton_cmd = [sys.executable, "-c", _SKELETON, *floor_cmd]

    floors, derives, startups, skeletons = [], [], [], []
    for _ in range(args.runs):  # in turns: the machine's speed drifts from minute to minute
        floors.append(measure(floor_cmd))
        derives.append(measure(derive_cmd))
        startups.append(measure(startup_cmd))
        skeletons.append(measure(skeleton_cmd))
    ratios = [d / f for (f, _), (d, _) in zip(floors, derives, strict=True)]
    after_startup = [
        (d - s) / f for (f, _), (d, _), (s, _) in zip(floors, derives, startups, strict=True)
    ]
    floor_s = statistics.median(t for t, _ in floors)
    derive_s = statistics.median(t for t, _ in derives)
    print(
        f"floor  (git log, one pass):          {floor_s:6.2f}s  "
        f"peak {max(m for _, m in floors):6.1f} MB  (median of {args.runs})"
    )
    print(
        f"derive (pulse-backfill --dry-run):   {derive_s:6.2f}s  "
        f"peak {max(m for _, m in derives):6.1f} MB  (median of {args.runs})"
    )
    print(
        f"ratio derive/floor: median {statistics.median(ratios):.2f}x, "
        f"best {min(ratios):.2f}x, worst {max(ratios):.2f}x  ({args.runs} pairs)"
    )
    print(
        f"start-up (pulse-backfill --version): {statistics.median(t for t, _ in startups):6.2f}s"
        f"  derive less start-up / floor: median {statistics.median(after_startup):.2f}x"
    )
    skeleton_ratios = [s / f for (f, _), (s, _) in zip(floors, skeletons, strict=True)]
    skeleton_s = statistics.median(t for t, _ in skeletons)
    print(
        f"skeleton (stack imported, log read): {skeleton_s:6.2f}s"
        f"  skeleton / floor: median {statistics.median(skeleton_ratios):.2f}x; left to the"
        f" derivation within 1.25x the floor: {(1.25 * floor_s - skeleton_s) * 1000:.0f} ms"
    )
    resync(repo, pulse, derive_s, args.runs, folder)
    shutil.rmtree(folder)
    return 0


def resync(repo: Path, pulse: str, derive_s: float, runs: int, scratch: Path) -> None:
    copy = scratch / "copy.git"
    # Local clones hard-link the objects: a copy of a large repository costs little.
    subprocess.run(["git", "clone", "--quiet", "--mirror", str(repo), str(copy)], check=True)
    store = scratch / "store.sqlite3"
    sync_cmd = [pulse, "git", str(copy), "--store", str(store), "--quiet"]
    dry_cmd = [pulse, "git", str(copy), "--dry-run", "--output", "/dev/null", "--quiet"]
    drys, firsts = [], []
    for _ in range(runs):  # in pairs, each first sync into a fresh store
        drys.append(measure(dry_cmd))
        for leftover in scratch.glob("store.sqlite3*"):
            leftover.unlink()
        firsts.append(measure(sync_cmd))
    first_s = statistics.median(t for t, _ in firsts)
    ratios = [f / d for (d, _), (f, _) in zip(drys, firsts, strict=True)]
    median = statistics.median(ratios)
    print(
        f"first sync (recorded in the store):  {first_s:6.2f}s  "
        f"peak {max(m for _, m in firsts):6.1f} MB  (median of {runs})\n"
        f"ratio first sync/dry run: median {median:.2f}x, best {min(ratios):.2f}x, "
        f"worst {max(ratios):.2f}x  ({runs} pairs; {'within' if median <= 1.5 else 'over'} "
        "the 1.5x target)"
    )
    idle = [measure(sync_cmd) for _ in range(runs)]
    report("re-sync, nothing new:", idle, derive_s, runs)
    one_new = []
    for number in range(runs):
        add_release(copy, f"v999.{number}.0")
        one_new.append(measure(sync_cmd))
    report("re-sync, one new tag:", one_new, derive_s, runs)


def report(label: str, timings: list[tuple[float, float]], derive_s: float, runs: int) -> None:
    median = statistics.median(t for t, _ in timings)
    peak = max(m for _, m in timings)
    share = median / derive_s
    verdict = "within" if share <= 0.25 else "over"
    print(
        f"{label:<37}{median:6.2f}s  peak {peak:6.1f} MB  = {share:.0%} of the derivation "
        f"({verdict} the 25% target; median of {runs})"
    )


def add_release(repo: Path, name: str) -> None:
    """A commit on top of the newest one, dated after everything, and an annotated tag on it."""
    newest = git(repo, "log", "-1", "--all", "--format=%ct").strip()
    when = f"@{int(newest) + 86400} +0000"  # after every tag, too
    env = {
        "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "PATH": os.environ["PATH"],
        "GIT_DIR": str(repo),
    }  # fmt: skip
    head = git(repo, "rev-list", "-1", "--all", "--date-order").strip()
    tree = git(repo, "rev-parse", f"{head}^{{tree}}").strip()
    commit = subprocess.run(
        ["git", "commit-tree", tree, "-p", head, "-m", f"release {name}"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        ["git", "tag", "-a", name, commit, "-m", name], check=True, capture_output=True, env=env
    )


if __name__ == "__main__":
    sys.exit(main())
