"""Check a real history's derivation against an independent computation of the rules.

    python scripts/check_derive.py --repo PATH [--branch NAME | --export-sample N | --tag-prefix P]
                                   [--include-prereleases] [--path P]... [--no-merges]
                                   [--change-time author|commit] [--seed S]
                                   [--infer-failures reverts,rollbacks,hotfix:REGEX]

Runs `pulse-backfill git PATH --dry-run --include-first --output FILE` with the options given
(with --branch, `--deployments-from branch:NAME`: each commit of its first-parent line, as
`git rev-list --first-parent` lists it, a deployment; with --export-sample N, `--deployments-from
file:CSV` of a CD system's export written here: N rows of random commits of the history, named
by full or short id, some failed, some redeploying an older commit, times that tie, and a row
for a commit that is not there; the model takes the successful rows whose commit git knows, in
order of time then id), and checks every event against a plain
model: git's graph (`rev-list --parents`, nothing else
of its walks), each commit given to the first deployment, in order, whose commit reaches it by
a walk of parents; with --path, only the commits `git rev-list <every deployment> -- PATH` lists
(the rule for paths); with --no-merges, no merge commit. Each deployment with changes must be
sent with exactly those, in order of (time, id), each change at its author (or committer) date,
after its changes; every other deployment must ship nothing; no change may be sent twice.
With --infer-failures, the incidents too, against the rules computed here from the model's
changes: a change whose message has a line `This reverts commit <full id>` (read with `git log`)
fails the deployment that shipped that id as a change, if it shipped it earlier; a deployment
whose commit `git merge-base --is-ancestor` says is a proper ancestor of the one before's fails
that one; a deployment shipping a change whose subject matches REGEX fails the one before; each
failed deployment once, recovered by the earliest (then reverts, rollbacks, hotfix), created a
second after it and resolved at its recovery (never before its creation).
Exits 1 on the first difference, naming it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pulse_backfill.derive.history import DeployedCommit  # noqa: E402
from pulse_backfill.derive.releases import TagRules, tag_deployments  # noqa: E402
from pulse_backfill.git.repository import Repository  # noqa: E402


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        errors="replace",  # old messages in other encodings
        input=stdin,
    ).stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--branch", help="deployments from this branch's first-parent line")
    parser.add_argument("--export-sample", type=int, metavar="N", help="an export of N rows")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tag-prefix", default="")
    parser.add_argument("--include-prereleases", action="store_true")
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--no-merges", action="store_true")
    parser.add_argument("--change-time", choices=["author", "commit"], default="author")
    parser.add_argument("--infer-failures", default="", metavar="RULES")
    args = parser.parse_args()
    repo = Path(git(args.repo, "rev-parse", "--absolute-git-dir").strip())

    export = None
    if args.branch:
        line = git(repo, "log", "--first-parent", "--reverse", "--format=%H %ct", args.branch)
        deployed = [
            DeployedCommit(commit, commit, int(committed))
            for commit, committed in (entry.split() for entry in line.splitlines())
        ]
    elif args.export_sample:
        export = tempfile.NamedTemporaryFile(suffix=".csv", mode="w", newline="")  # noqa: SIM115
        deployed = write_export(repo, args.export_sample, random.Random(args.seed), export)
    else:
        rules = TagRules(prefix=args.tag_prefix, include_prereleases=args.include_prereleases)
        deployed, _ = tag_deployments(Repository(repo).read_tags()[0], rules)
    tips = [d.commit for d in deployed]
    time_format = "%at" if args.change_time == "author" else "%ct"
    parents: dict[str, list[str]] = {}
    times: dict[str, int] = {}
    for line in git(
        repo,
        "rev-list",
        "--no-commit-header",
        f"--format=%H {time_format} %P",
        "--stdin",
        stdin="\n".join(tips) + "\n",
    ).splitlines():
        commit, time, *commit_parents = line.split()
        parents[commit], times[commit] = commit_parents, int(time)
    touching = None
    if args.path:
        listed = git(repo, "rev-list", "--stdin", "--", *args.path, stdin="\n".join(tips) + "\n")
        touching = set(listed.split())

    taken: set[str] = set()
    expected: dict[str, list[tuple[int, str]]] = {}
    for deployment in deployed:
        stack, mine = [deployment.commit], []
        while stack:
            commit = stack.pop()
            if commit in taken:
                continue
            taken.add(commit)
            stack.extend(parents[commit])
            if args.no_merges and len(parents[commit]) > 1:
                continue
            if touching is None or commit in touching:
                mine.append((times[commit], commit))
        expected[deployment.id] = sorted(mine)

    with tempfile.NamedTemporaryFile(suffix=".ndjson") as output:
        command = [
            str(Path(sys.executable).parent / "pulse-backfill"),
            "git", str(repo), "--dry-run", "--include-first", "--quiet", "--output", output.name,
            "--change-time", args.change_time,
            *(["--tag-prefix", args.tag_prefix] if args.tag_prefix else []),
            *(["--deployments-from", f"branch:{args.branch}"] if args.branch else []),
            *(["--deployments-from", f"file:{export.name}"] if export else []),
            *(["--include-prereleases"] if args.include_prereleases else []),
            *(["--no-merges"] if args.no_merges else []),
            *(f"--path={path}" for path in args.path),
            *(["--infer-failures", args.infer_failures] if args.infer_failures else []),
        ]  # fmt: skip
        subprocess.run(command, check=True)
        events = [json.loads(line) for line in Path(output.name).read_text().splitlines()]

    sent: set[str] = set()
    pending: list[tuple[int, str]] = []
    deployments: list[str] = []
    for event in events:
        if event["$type"] == "change":
            commit = event["change_id"]
            if commit in sent:
                return fail(f"change {commit} sent twice")
            sent.add(commit)
            pending.append((times[commit], commit))
            continue
        if event["$type"] == "incident":
            continue  # checked below, with --infer-failures
        name = event["deploy_id"]
        deployments.append(name)
        if event["changes"] != [commit for _, commit in expected[name]]:
            return fail(f"{name}: {len(event['changes'])} changes, the model {len(expected[name])}")
        if pending != expected[name]:
            return fail(f"{name}: its change events are not its changes, in order")
        pending = []
    shipping = [d.id for d in deployed if expected[d.id]]
    if deployments != shipping:
        return fail(f"{len(deployments)} deployments sent, the model ships {len(shipping)}")
    found = ""
    if args.infer_failures:
        model = model_incidents(repo, deployed, expected, args.infer_failures)
        incidents = [
            (e["incident_id"], e["time_created"], e["time_resolved"], e["source"])
            for e in events
            if e["$type"] == "incident"
        ]
        if incidents != model:
            differ = sorted(set(incidents) ^ set(model))[:3]
            return fail(f"{len(incidents)} incidents, the model {len(model)}; first: {differ}")
        found = f", {len(incidents)} failed deployments"
    print(
        f"{repo}: {len(deployed)} deployments, {len(deployments)} sent with {len(sent)} changes "
        f"of {len(parents)} commits{found}: the same as the model"
    )
    return 0


REVERT = re.compile(r"^This reverts commit ([0-9a-f]{40})(?![0-9a-f])", re.MULTILINE)


def model_incidents(
    repo: Path,
    deployed: list[DeployedCommit],
    expected: dict[str, list[tuple[int, str]]],
    rules: str,
) -> list[tuple[str, str, str, str]]:
    """The failure rules over the model's changes (every deployment sent: --include-first)."""
    names = [word.strip() for word in rules.split(",")]
    hotfix = next(
        (re.compile(rules.split("hotfix:", 1)[1]) for _ in [0] if "hotfix:" in rules), None
    )
    changes = [[commit for _, commit in expected[d.id]] for d in deployed]
    shipped = {commit: position for position, mine in enumerate(changes) for commit in mine}
    messages: dict[str, str] = {}
    log = git(repo, "log", "--no-walk=unsorted", "--format=%H%x00%B%x00", "--stdin",
              stdin="\n".join(shipped) + "\n")  # fmt: skip
    parts = log.split("\x00")
    for commit, message in zip(parts[0::2], parts[1::2], strict=False):
        messages[commit.strip()] = message
    best: dict[int, tuple[int, int]] = {}  # failed position: (recovering position, rule rank)

    def mark(failed: int, position: int, rank: int) -> None:
        if failed >= 0 and (failed not in best or (position, rank) < best[failed]):
            best[failed] = (position, rank)

    for position, mine in enumerate(changes):
        for commit in mine:
            message = messages[commit]
            if "reverts" in names:
                for target in REVERT.findall(message):
                    if target in shipped and shipped[target] < position:
                        mark(shipped[target], position, 0)
            if hotfix is not None and hotfix.search(message.split("\n", 1)[0]):
                mark(position - 1, position, 2)
        if "rollbacks" in names and position and not mine:
            commit, before = deployed[position].commit, deployed[position - 1].commit
            ancestor = subprocess.run(
                ["git", "--git-dir", str(repo), "merge-base", "--is-ancestor", commit, before],
                check=False,
            ).returncode
            if commit != before and ancestor == 0:
                mark(position - 1, position, 1)
    ranks = ("reverts", "rollbacks", "hotfix")
    return [
        (
            f"failed:{deployed[failed].id}",
            stamp(deployed[failed].time + 1),
            stamp(max(deployed[recovering].time, deployed[failed].time + 1)),
            ranks[rank],
        )
        for failed, (recovering, rank) in sorted(best.items())
    ]


def stamp(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def write_export(
    repo: Path, rows: int, rng: random.Random, export: tempfile._TemporaryFileWrapper[str]
) -> list[DeployedCommit]:
    """A CD system's export of `rows` deployments of random commits; the model's deployments:
    the successful rows whose commit is in the repository, in order of (time, id)."""
    history = git(repo, "rev-list", "--all").split()
    writer = csv.writer(export)
    writer.writerow(["id", "commit", "time", "status"])
    deployed, time, earlier = [], 1_500_000_000, []
    for number in range(rows):
        commit = rng.choice(earlier) if earlier and rng.random() < 0.05 else rng.choice(history)
        name = commit[: rng.choice((7, 12, 40))]  # full or short ids
        status = "failed" if rng.random() < 0.1 else "success"
        time += rng.choice((0, 60, 3600, 86400))  # some at the very same second
        identifier = f"deploy-{rng.randrange(10**6):06d}-{number}"
        writer.writerow([identifier, name, time, status])
        if status == "success":
            deployed.append(DeployedCommit(identifier, commit, time))
            earlier.append(commit)
    writer.writerow(["deploy-gone", "0" * 40, time + 1, "success"])  # force-pushed away
    export.flush()
    return sorted(deployed, key=lambda d: (d.time, d.id))


def fail(message: str) -> int:
    print(f"differs: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
