"""Where one run's time goes: a timeline of its phases, in one process, with the run's own code.

    python scripts/profile_sync.py [--runs 3] [--fresh-store PATH] -- git REPO [OPTIONS...]

Runs `pulse-backfill ARGS` in a fresh interpreter --runs times and prints, for each phase, the
median of when it ended (milliseconds since the process started, as the kernel counts it) and of
how long it took:

  start-up      the interpreter and every module the command line imports
  setup         the store opened (its pages checked meanwhile, on a thread), the repositories named
  tags          git's tags read and the deployments chosen, up to git's log of the history
  git's log     the pass over git's log, in step with git (`Reach.run`)
  derive        each deployment's changes picked and sorted (`derive`)
  record        the events, `reached` and the sync point written to the store, or the --output
                lines a dry run writes; `events`, `index` (a first sync's), `reached` and
                `commit` split a recording
  exit          the summary and the store closed, up to the interpreter's exit handlers

With --fresh-store, that store (and the files SQLite keeps beside it) is removed before each run,
so that each is a first sync: pass the same path to --store.

The points are wrapped by name (see `_POINTS`): a function renamed is reported, not ignored.
Timings move with the machine; compare runs made in turns, as bench_derive does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run inside the measured interpreter: each wrapped point marks its start and end.
_PROBE = r"""
import atexit, json, os, sys, time

def _since_start():
    with open("/proc/self/stat") as stat:
        started = int(stat.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as uptime:
        up = float(uptime.read().split()[0])
    return up - started / os.sysconf("SC_CLK_TCK")

ZERO = time.perf_counter() - _since_start()
marks = {}

def mark(name):
    marks.setdefault(name, time.perf_counter() - ZERO)

def wrap(owner, name, label):
    function = getattr(owner, name)
    def wrapped(*args, **kwargs):
        mark(label + " start")
        try:
            return function(*args, **kwargs)
        finally:
            mark(label + " end")
    setattr(owner, name, wrapped)

from pulse_backfill.cli.app import main
mark("imported")
import importlib
for module, owner, name, label in json.loads(sys.argv[1]):
    target = importlib.import_module(module)
    if owner:
        target = getattr(target, owner)
    wrap(target, name, label)
def _report():
    mark("exit")
    print("PROFILE " + json.dumps(marks), file=sys.stderr)
atexit.register(_report)
sys.argv = ["pulse-backfill", *sys.argv[2:]]
main()
"""

# (module, class or "", function, label): where each phase starts and ends.
_POINTS = [
    ("pulse_backfill.commands.backfill", "", "run_git_backfill", "run"),
    ("pulse_backfill.commands.backfill", "", "derive_one", "derive_one"),
    ("pulse_backfill.commands.sync", "", "find_deployments", "tags"),
    ("pulse_backfill.derive.reach", "Reach", "run", "log"),
    ("pulse_backfill.commands.sync", "", "derive", "derive"),
    ("pulse_backfill.commands.backfill", "", "record_one", "record"),
    ("pulse_backfill.store.database", "Store", "_stage", "events"),
    ("pulse_backfill.store.database", "Store", "_index_first_events", "index"),
    ("pulse_backfill.store.database", "Store", "_reach", "reached"),
    ("pulse_backfill.store.database", "Store", "record", "store"),
]

# Phase: (from the mark, to the mark).
_PHASES = [
    ("start-up", None, "imported"),
    ("setup", "imported", "tags start"),
    ("tags", "tags start", "log start"),
    ("git's log", "log start", "log end"),
    ("derive", "log end", "derive end"),
    ("record", "derive_one end", "record end"),
    ("  events", "events start", "events end"),
    ("  index", "index start", "index end"),
    ("  reached", "reached start", "reached end"),
    ("  commit", "reached end", "store end"),
    ("exit", "record end", "exit"),
]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh-store", type=Path, help="removed before each run")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then pulse-backfill's")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to profile after --, e.g. -- git REPO --dry-run")
    timelines = []
    for _ in range(args.runs):
        if args.fresh_store is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{args.fresh_store}{suffix}").unlink(missing_ok=True)
        timelines.append(_run(command))
    print(f"pulse-backfill {' '.join(command)}: median of {args.runs} runs")
    print(f"{'phase':<12} {'ends at':>9} {'takes':>9}")
    for phase, start, end in _PHASES:
        spans = [
            (line[end], line[end] - (line[start] if start else 0.0))
            for line in timelines
            if end in line and (start is None or start in line)
        ]
        if len(spans) < len(timelines):
            continue  # a phase this command has not (a dry run records nothing)
        ends = statistics.median(at for at, _ in spans) * 1000
        takes = statistics.median(length for _, length in spans) * 1000
        print(f"{phase:<12} {ends:7.0f}ms {takes:7.0f}ms")
    return 0


def _run(command: list[str]) -> dict[str, float]:
    finished = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(_POINTS), *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    lines = [line for line in finished.stderr.splitlines() if line.startswith("PROFILE ")]
    if finished.returncode != 0 or not lines:
        sys.exit(f"the run failed ({finished.returncode}): {finished.stderr.strip()[-500:]}")
    marks: dict[str, float] = json.loads(lines[-1].removeprefix("PROFILE "))
    return marks


if __name__ == "__main__":
    sys.exit(main())
