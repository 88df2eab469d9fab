"""`--infer-failures`: failed deployments found in the history (reverts, rollbacks, hotfixes),
each an incident; checked on fixture histories by hand, and on any history against a plain
model of the rules written here."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fixtures.build_repos import RepoBuilder
from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.commands.sync import SyncPoint, derive_repository
from pulse_backfill.derive.derivation import ChangeTime, DerivationOptions, Status
from pulse_backfill.derive.failures import FailureRules, parse_rules
from pulse_backfill.derive.history import DeployedCommit
from pulse_backfill.derive.releases import TagRules
from pulse_backfill.derive.sources import DeploymentSource, FileSource, TagSource
from pulse_backfill.errors import UsageError
from pulse_backfill.git.repository import Repository
from pulse_backfill.pulse.events import failure_incidents
from tests.conftest import API_KEY, Cli
from tests.gitoracle import commit_of
from tests.ingestion_server import IngestionServer
from tests.reachability import first_reach
from tests.test_properties import BASE, FILES, PATHS, History, touching
from tests.test_properties import expected as expected_changes
from tests.test_report import SEPTEMBER, loaded_in_a_browser, shown_rows

# linear's days: from its first deployment (4 September 2020) to the day after its last.
LINEAR = ("--since", "2020-09-04", "--until", "2020-10-15")


def incidents(output: str) -> list[tuple[str, str, str, str]]:
    """The incidents of an --output, as (id, created, resolved, source)."""
    lines = [json.loads(line) for line in output.splitlines()]
    return [
        (e["incident_id"], e["time_created"], e["time_resolved"], e["source"])
        for e in lines
        if e["$type"] == "incident"
    ]


# The fixture's failures by reverts, from --since 2020-09-10: each created a second after the
# failed release's tag, resolved at the recovering one's.
REVERTS = [
    # feature c and d shipped in v1.1.0; c reverted in v1.2.0, d in v1.4.0: the earlier.
    ("failed:v1.1.0", "2020-09-25T13:00:01Z", "2020-09-27T14:00:00Z", "reverts"),
    # feature e shipped in v1.2.0, reverted three releases later in v1.5.0.
    ("failed:v1.2.0", "2020-09-27T14:00:01Z", "2020-10-01T17:00:00Z", "reverts"),
    # That revert, reverted in v1.6.0.
    ("failed:v1.5.0", "2020-10-01T17:00:01Z", "2020-10-02T18:00:00Z", "reverts"),
    # The merge of feature/h, reverted in v1.8.0.
    ("failed:v1.7.0", "2020-10-05T19:00:01Z", "2020-10-06T20:00:00Z", "reverts"),
]
HOTFIX = ("failed:v1.8.0", "2020-10-06T20:00:01Z", "2020-10-08T21:00:00Z", "hotfix")


def test_reverts_of_a_history_by_hand(cli: Cli, repos: dict[str, Path]) -> None:
    # Not failures: feature b, reverted in its own release (v1.0.0); old feature, reverted in
    # v1.0.0 but shipped by v0.2.0, before --since.
    result = cli(
        "git", repos["failures"], "--since", "2020-09-10", "--infer-failures", "reverts",
        "--dry-run", "--output", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert incidents(result.stdout) == REVERTS
    # Sent after every deployment, as the standard CLI's bodies.
    lines = result.stdout.splitlines()
    assert json.loads(lines[-5])["$type"] == "deployment"
    assert lines[-4] == (
        '{"source":"reverts","incident_id":"failed:v1.1.0","time_created":'
        '"2020-09-25T13:00:01Z","time_resolved":"2020-09-27T14:00:00Z","$type":"incident",'
        '"system":"failures"}'
    )
    summary = result.stderr.splitlines()
    assert summary[1:6] == [
        "4 failed deployments found by --infer-failures reverts, each an incident:",
        '  v1.1.0: reverts (aa1383125b Revert "feature c"); recovered by v1.2.0',
        '  v1.2.0: reverts (a073d71ca3 Revert "feature e"); recovered by v1.5.0',
        '  v1.5.0: reverts (a5142e738b Revert "Revert "feature e""); recovered by v1.6.0',
        "  v1.7.0: reverts (1106a78aab Revert \"Merge branch 'feature/h'\"); recovered by v1.8.0",
    ]


def test_a_revert_of_a_release_before_since_is_no_failure_only_then(
    cli: Cli, repos: dict[str, Path]
) -> None:
    # Without --since, v0.2.0 is sent (only v0.1.0 is a baseline): its old feature, reverted in
    # v1.0.0, fails it.
    result = cli(
        "git", repos["failures"], "--infer-failures", "reverts", "--dry-run", "--output", "-"
    )
    assert incidents(result.stdout) == [
        ("failed:v0.2.0", "2020-09-03T11:00:01Z", "2020-09-23T12:00:00Z", "reverts"),
        *REVERTS,
    ]


def test_a_hotfix_pattern(cli: Cli, repos: dict[str, Path]) -> None:
    result = cli(
        "git", repos["failures"], "--since", "2020-09-10", "--dry-run", "--output", "-",
        "--infer-failures", "reverts,hotfix:^Merge .*hotfix/",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert incidents(result.stdout) == [*REVERTS, HOTFIX]
    # With --no-merges, the hotfix's merge is no change, and matches nothing.
    result = cli(
        "git", repos["failures"], "--since", "2020-09-10", "--dry-run", "--output", "-",
        "--infer-failures", "hotfix:^Merge .*hotfix/", "--no-merges",
    )  # fmt: skip
    assert incidents(result.stdout) == []
    # A pattern takes the rest of the text, commas and all: here, nothing matches it.
    result = cli(
        "git", repos["failures"], "--since", "2020-09-10", "--dry-run", "--output", "-",
        "--infer-failures", "hotfix:^Merge .*hotfix/,reverts",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert incidents(result.stdout) == []


def test_rollbacks_in_a_cd_export(cli: Cli, repos: dict[str, Path]) -> None:
    export = repos["failures"].with_name("failures-deployments.csv")
    result = cli(
        "git", repos["failures"], "--deployments-from", f"file:{export}", "--dry-run",
        "--output", "-", "--infer-failures", "rollbacks",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # d-4 went back to d-2's commit: d-3 failed. d-7 redeployed d-6's commit: no rollback. d-9
    # went back to d-6's: d-8 failed. The rollbacks ship nothing: they are not sent.
    assert incidents(result.stdout) == [
        ("failed:d-3", "2020-10-03T12:00:01Z", "2020-10-04T12:00:00Z", "rollbacks"),
        ("failed:d-8", "2020-10-08T12:00:01Z", "2020-10-09T12:00:00Z", "rollbacks"),
    ]
    sent = [json.loads(line).get("deploy_id") for line in result.stdout.splitlines()]
    assert "d-4" not in sent
    assert "d-9" not in sent
    # With reverts too: d-3 shipped the revert of feature c, shipped by d-2. d-10 reverts
    # feature e, shipped by d-3, which d-4's rollback had already recovered, earlier.
    both = cli(
        "git", repos["failures"], "--deployments-from", f"file:{export}", "--dry-run",
        "--infer-failures", "rollbacks,reverts", "--json",
    )  # fmt: skip
    assert [f["deployment"] for f in json.loads(both.stdout)["repositories"][0]["failures"]] == [
        "d-2",
        "d-3",
        "d-8",
    ]
    failure = json.loads(both.stdout)["repositories"][0]["failures"][1]
    assert failure == {
        "deployment": "d-3",
        "deployed_at": "2020-10-03T12:00:00Z",
        "rule": "rollbacks",
        "marked_by": {"rollback": "d-4"},
        "recovered_by": "d-4",
        "recovered_at": "2020-10-04T12:00:00Z",
        "recovery_seconds": 86400,
        "incident": "failed:d-3",
    }


def test_a_deploy_branch_rolls_back_by_reverting(cli: Cli, repos: dict[str, Path]) -> None:
    # Each commit of main's first-parent line is a deployment; a revert right after what it
    # reverts fails the deployment before it.
    path = repos["failures"]
    result = cli(
        "git", path, "--deployments-from", "branch:main", "--since", "2020-09-10",
        "--infer-failures", "reverts,rollbacks", "--dry-run", "--output", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    failed = [incident[0].removeprefix("failed:") for incident in incidents(result.stdout)]
    assert failed == [
        commit_of(path, subject)
        for subject in (
            "feature b",
            "feature c",
            "feature d",
            "feature e",
            'Revert "feature e"',
            "Merge branch 'feature/h'",
        )
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("reverts,oops", "--infer-failures 'reverts,oops': 'oops' is not a rule: pass reverts, "
         "rollbacks and hotfix:REGEX, separated by commas"),
        ("hotfix:", "--infer-failures 'hotfix:': hotfix: needs a regular expression, e.g. "
         "hotfix:'^Merge .*hotfix/'"),
        ("hotfix:(", "--infer-failures: hotfix:'(' is not a valid regular expression (missing ), "
         "unterminated subpattern at position 0)"),
        ("reverts hotfix:x", "--infer-failures 'reverts hotfix:x': separate the rules with "
         "commas (reverts, rollbacks and hotfix:REGEX, separated by commas)"),
    ],
)  # fmt: skip
def test_rules_that_are_not_rules(cli: Cli, repos: dict[str, Path], text: str, error: str) -> None:
    result = cli("git", repos["failures"], "--dry-run", "--infer-failures", text)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {error}\n"


def test_rules_as_they_are_named() -> None:
    assert parse_rules("") == parse_rules("none") == FailureRules()
    rules = parse_rules(" rollbacks , reverts,hotfix:^fix(es)?, now")
    assert rules.reverts
    assert rules.rollbacks
    assert rules.hotfix is not None
    assert rules.hotfix.pattern == "^fix(es)?, now"
    assert str(rules) == "reverts,rollbacks,hotfix:^fix(es)?, now"
    assert parse_rules(str(rules)) == rules
    with pytest.raises(UsageError) as caught:
        parse_rules("revert", option="--repos r line 2: --infer-failures")
    assert str(caught.value).startswith("--repos r line 2: --infer-failures 'revert': 'revert'")


# A plain model of the rules, from the reachability model's changes.


def model(
    history: History,
    ids: list[str],
    deployed: list[DeployedCommit],
    changes: list[list[str] | None],  # None: a baseline; []: shipped nothing new
    rules: FailureRules,
) -> list[tuple[str, int, int, str]]:
    """Each failed deployment's incident as (id, created, resolved, rule), in order."""
    parents = {ids[n]: [ids[p] for p in c.parents] for n, c in enumerate(history.commits)}
    spec = {ids[n]: c for n, c in enumerate(history.commits)}
    shipped = {c: p for p, cs in enumerate(changes) for c in cs or ()}

    def ancestors(commit: str) -> set[str]:
        seen: set[str] = set()
        stack = list(parents[commit])
        while stack:
            one = stack.pop()
            if one not in seen:
                seen.add(one)
                stack.extend(parents[one])
        return seen

    found: dict[int, tuple[int, int]] = {}  # failed: (recovering, rule's rank)
    for position, mine in enumerate(changes):
        marks: list[tuple[int, int]] = []  # (failed, rank)
        for change in mine or ():
            for target in (ids[t] for t in spec[change].reverts):
                if rules.reverts and target in shipped and shipped[target] < position:
                    marks.append((shipped[target], 0))
            subject = spec[change].subject or f"commit {ids.index(change)}"
            if rules.hotfix is not None and rules.hotfix.search(subject):
                marks.append((position - 1, 2))
        if (
            rules.rollbacks
            and position > 0
            and deployed[position].commit in ancestors(deployed[position - 1].commit)
        ):
            marks.append((position - 1, 1))
        for failed, rank in marks:
            if failed >= 0 and changes[failed] is not None:
                found.setdefault(failed, (position, rank))
                found[failed] = min(found[failed], (position, rank))
    names = ("reverts", "rollbacks", "hotfix")
    return [
        (
            f"failed:{deployed[failed].id}",
            deployed[failed].time + 1,
            max(deployed[recovering].time, deployed[failed].time + 1),
            names[rank],
        )
        for failed, (recovering, rank) in sorted(found.items())
    ]


@st.composite
def failing_histories(draw: st.DrawFn) -> History:
    """A main line with branches and merges, released often; some commits revert one or two
    earlier ones, some are hotfixes by their subject, and some releases are made later on an
    older commit (rollbacks, for a CD export's order)."""
    count = draw(st.integers(2, 25))
    commits: list[CommitSpec] = []
    tags: list[TagSpec] = []
    for index in range(count):
        parents: tuple[int, ...] = ()
        if index:
            shape = draw(st.integers(0, 9))
            earlier = draw(st.integers(0, index - 1))
            if shape == 0:
                parents = (earlier,)  # a branch from further back
            elif shape == 1 and earlier != index - 1:
                parents = (index - 1, earlier)  # a merge
            else:
                parents = (index - 1,)
        reverts: tuple[int, ...] = ()
        if index and draw(st.integers(0, 2)) == 0:
            reverts = tuple(
                draw(st.lists(st.integers(0, index - 1), min_size=1, max_size=2, unique=True))
            )
        time = BASE + index * 3600
        commits.append(
            CommitSpec(
                parents,
                time,
                time,
                tuple(draw(st.lists(st.sampled_from(FILES), max_size=2, unique=True))),
                subject="Merge branch 'hotfix/x'" if draw(st.integers(0, 4)) == 0 else None,
                reverts=reverts,
            )
        )
        if draw(st.booleans()):
            # Now and then a release of an older commit: a rollback, when it is an ancestor of
            # the release before.
            target = draw(st.integers(0, index)) if draw(st.integers(0, 4)) == 0 else index
            tags.append(TagSpec(f"v1.{len(tags)}.0", target, time + 1800))
    return History(commits, tags)


rule_sets = st.sampled_from(
    [
        FailureRules(reverts=True),
        FailureRules(rollbacks=True),
        FailureRules(hotfix=re.compile("hotfix/")),
        FailureRules(reverts=True, rollbacks=True, hotfix=re.compile("^Merge .*hotfix/")),
        FailureRules(reverts=True, hotfix=re.compile("hotfix/")),
    ]
)


def what_was_found(failures: list) -> list[tuple[str, int, int, str]]:  # type: ignore[type-arg]
    return [(f.incident_id, f.incident_created, f.incident_resolved, str(f.rule)) for f in failures]


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=failing_histories(),
    rules=rule_sets,
    since=st.none() | st.integers(0, 12).map(lambda t: BASE + t * 3600),
    no_merges=st.booleans(),
    paths=st.sampled_from([(), *PATHS]),  # more often none: more changes, more failures
    exported=st.booleans(),
    cut=st.floats(min_value=0, max_value=1),
)
def test_the_incidents_of_any_history_are_the_models(
    history: History,
    rules: FailureRules,
    since: int | None,
    no_merges: bool,
    paths: tuple[str, ...],
    exported: bool,
    cut: float,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repo.git"
        ids = build(path, history.commits, history.tags)
        repository = Repository(path)
        options = DerivationOptions(since=since, no_merges=no_merges, change_time=ChangeTime.AUTHOR)
        source: DeploymentSource = TagSource(TagRules())
        if exported:
            # The same tags' commits, as a CD system's export lists them: ties and redeploys of
            # older commits (rollbacks) come with them.
            export = Path(folder) / "export.csv"
            export.write_text(
                "id,commit,time\n"
                + "".join(
                    f"d{n},{ids[t.commit]},{t.tagger_time}\n" for n, t in enumerate(history.tags)
                )
            )
            source = FileSource(str(export))
        whole = derive_repository(repository, source, options, paths=paths, rules=rules)
        deployments = whole.derivation.deployments
        deployed = [DeployedCommit(d.id, d.commit, d.time) for d in deployments]
        changing = touching(path, [d.commit for d in deployments], paths)
        changes: list[list[str] | None] = []
        for status, shipped in expected_changes(history, ids, whole.derivation, options):
            kept = [c for _, c in shipped if changing is None or c in changing]
            changes.append(None if status is Status.BASELINE else kept)
        assert what_was_found(whole.failures) == model(history, ids, deployed, changes, rules)
        event(f"failures found: {min(len(whole.failures), 3)}{'+' * (len(whole.failures) > 3)}")
        # What a dry run writes: an incident per failure, its rule as source.
        assert [
            (e.identifier, e.body["source"]) for e in failure_incidents(whole.failures, system="s")
        ] == [(f.incident_id, str(f.rule)) for f in whole.failures]

        # A re-sync after the first `known` deployments finds the rest, each once.
        if not deployments:
            return
        known = max(1, round(cut * len(deployments)))
        parents = {ids[n]: [ids[p] for p in c.parents] for n, c in enumerate(history.commits)}
        reached = frozenset(
            c for shipped in first_reach(parents, [d.commit for d in deployed[:known]])
            for c in shipped
        )  # fmt: skip
        earlier = model(history, ids, deployed[:known], changes[:known], rules)
        failed_before = {
            n for n, d in enumerate(deployed) if f"failed:{d.id}" in {e[0] for e in earlier}
        }

        class Store:
            def shipped_by(self, commit: str) -> int | None:
                return next(
                    (n for n, cs in enumerate(changes[:known]) if commit in (cs or ())), None
                )

            def failed(self) -> set[int]:
                return failed_before

        again = derive_repository(
            repository,
            source,
            options,
            paths=paths,
            previous=SyncPoint(whole.point.deployments[:known]),
            reached_before=lambda: reached,
            rules=rules,
            store=Store(),
        )
        assert sorted(earlier + what_was_found(again.failures)) == sorted(
            what_was_found(whole.failures)
        )


def test_a_re_sync_finds_a_revert_of_a_release_sent_syncs_ago(
    cli: Cli, server: IngestionServer, store: Path, tmp_path: Path
) -> None:
    builder = RepoBuilder(tmp_path / "app")
    builder.commit("one")
    builder.tag("v1.0.0")
    two = builder.commit("two")
    builder.tag("v1.1.0")
    builder.commit("three")
    builder.tag("v1.2.0")

    def sync() -> list[tuple[str, str]]:
        server.reset()
        result = cli(
            "git", builder.path, "--api-key", API_KEY, "--base-url", server.base_url,
            "--store", store, "--infer-failures", "reverts",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return [
            (b["$type"], b.get("incident_id") or b.get("deploy_id") or b["change_id"])
            for b in server.accepted_bodies()
        ]

    assert sync() == [
        ("change", two),
        ("deployment", "v1.1.0"),
        ("change", commit_of(builder.path, "three")),
        ("deployment", "v1.2.0"),
    ]
    builder.commit("four")
    builder.tag("v1.3.0")
    assert [kind for kind, _ in sync()] == ["change", "deployment"]
    # v1.4.0 reverts what v1.1.0 shipped, three syncs ago.
    revert = builder.revert(two)
    builder.tag("v1.4.0")
    assert sync() == [("change", revert), ("deployment", "v1.4.0"), ("incident", "failed:v1.1.0")]
    assert sync() == []  # each once
    # Deriving the whole history gives the same incident, body for body.
    whole = cli("git", builder.path, "--infer-failures", "reverts", "--dry-run", "--output", "-")
    sent = [json.loads(line) for line in whole.stdout.splitlines()]
    assert [e for e in sent if e["$type"] == "incident"] == [
        {
            "source": "reverts",
            "incident_id": "failed:v1.1.0",
            "time_created": "2020-09-03T11:00:01Z",
            "time_resolved": "2020-09-06T14:00:00Z",
            "$type": "incident",
            "system": "app",
        }
    ]
    assert json.loads(cli("report", "--store", store, *SEPTEMBER, "--json").stdout)["failures"] == [
        {
            "system": "app",
            "deployment": "v1.1.0",
            "deployed_at": "2020-09-03T11:00:00Z",
            "rule": "reverts",
            "marked_by": {"commit": revert, "subject": 'Revert "two"'},
            "recovered_by": "v1.4.0",
            "recovered_at": "2020-09-06T14:00:00Z",
            "recovery_seconds": 3 * 86400 + 3 * 3600,
        }
    ]
    # The page lists it too, with what marked it, for the systems chosen.
    page = tmp_path / "report.html"
    assert cli("report", "--store", store, *SEPTEMBER, "--html", page).exit_code == 0
    dom = loaded_in_a_browser(page, tmp_path, "#systems=app")
    assert shown_rows(dom, "failures-table") == [
        ["app", "v1.1.0", "2020-09-03", "reverts", f'{revert[:12]} Revert "two"', "v1.4.0",
         "3.1 days"],
    ]  # fmt: skip


# The report: "no data" where nothing was measured, and each system over its own span.


def test_no_data_is_no_level(cli: Cli, repos: dict[str, Path], store: Path, tmp_path: Path) -> None:
    assert cli("git", repos["linear"], "--store", store).exit_code == 0
    text = cli("report", "--store", store, *LINEAR)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[2:4] == [
        "system  frequency      lead time     recovery  fail rate  rework",
        "linear  0.12/day high  1.0 day high  no data   no data    no data",
    ]
    assert lines[5:8] == [
        "linear: no data for failures: no incidents recorded and no failure rule run:",
        "  infer failures from the history with 'pulse-backfill git --infer-failures",
        "  reverts', or backfill incidents with 'pulse-backfill incidents'",
    ]
    keys = json.loads(cli("report", "--store", store, *LINEAR, "--json").stdout)["systems"][
        "linear"
    ]
    hint = (
        "no incidents recorded and no failure rule run: infer failures from the history with "
        "'pulse-backfill git --infer-failures reverts', or backfill incidents with "
        "'pulse-backfill incidents'"
    )
    assert keys["change_failure_rate"] == {
        "rate": None,
        "failed_deployments": 0,
        "deployments": 0,
        "level": None,
        "incidents_with_no_earlier_deployment": 0,
        "no_data": hint,
    }
    assert keys["time_to_recover"]["mean_seconds"] is None
    assert keys["time_to_recover"]["no_data"] == hint
    assert keys["rework_rate"] == {
        "rate": None,
        "recoveries": 0,
        "deployments": 0,
        "no_data": "no failure rule run: infer failures from the history with "
        "'pulse-backfill git --infer-failures reverts'",
    }
    page = tmp_path / "report.html"
    assert cli("report", "--store", store, *LINEAR, "--html", page).exit_code == 0
    dom = loaded_in_a_browser(page, tmp_path)
    row = re.search(r"<tr data-system=\"linear\"><th scope=\"row\">linear</th>(.*?)</tr>", dom)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells][2:] == [
        "no data",
        "no data",
        "no data",
    ]
    assert "pulse-backfill git --infer-failures reverts" in dom
    assert "elite" not in row.group(1)

    # A rule that ran and found nothing is a measurement: 0%, from reverts.
    assert (
        cli("git", repos["linear"], "--store", store, "--infer-failures", "reverts").exit_code == 0
    )
    lines = cli("report", "--store", store, *LINEAR).stdout.splitlines()
    assert lines[3] == "linear  0.12/day high  1.0 day high  no failures  0% (0/5) elite  0% (0/5)"
    assert "linear: failures from reverts (0 failed deployments)" in lines
    keys = json.loads(cli("report", "--store", store, *LINEAR, "--json").stdout)["systems"][
        "linear"
    ]
    assert keys["change_failure_rate"]["rate"] == 0.0
    assert keys["change_failure_rate"]["from"] == ["reverts"]
    assert keys["time_to_recover"]["no_data"] == "no incidents in this period"


def test_each_system_over_its_own_span(cli: Cli, repos: dict[str, Path], store: Path) -> None:
    # linear from its first deployment sent (4 September 2020), failures from --since 2020-09-20.
    assert cli("git", repos["linear"], "--store", store).exit_code == 0
    failures = cli("git", repos["failures"], "--store", store, "--since", "2020-09-20")
    assert failures.exit_code == 0, failures.output
    report = json.loads(cli("report", "--store", store, *LINEAR, "--json").stdout)
    until = report["period"]["until"]
    assert until == "2020-10-15T00:00:00Z"
    frequency = report["systems"]["failures"]["deployment_frequency"]
    # 11 deployments from v1.0.0 on, over 20 September to 14 October: 25 days, not the
    # store's 41 (from linear's first deployment, on 4 September).
    assert frequency["per_day"] == 11 / 25
    assert report["period"]["days"] == 41
    assert report["systems"]["linear"]["deployment_frequency"]["per_day"] == 5 / 41


def test_a_window_without_deployments_says_where_they_are(
    cli: Cli, repos: dict[str, Path], store: Path
) -> None:
    # The fixture's releases are from 2020: the last 90 days hold none of them.
    assert cli("git", repos["linear"], "--store", store).exit_code == 0
    hint = (
        "No deployment in this period: the history's are from 2020-09-04 to before 2020-10-15; "
        "pass --since 2020-09-04 --until 2020-10-15 to report on them"
    )
    assert json.loads(cli("report", "--store", store, "--json").stdout)["hint"] == hint
    shown = " ".join(line.strip() for line in cli("report", "--store", store).stdout.splitlines())
    assert hint in shown
    within = cli("report", "--store", store, "--since", "2020-09-04", "--until", "2020-10-15")
    assert "No deployment in this period" not in within.stdout
    assert (
        json.loads(cli("report", "--store", store, "--since", "2020-09-04", "--json").stdout)[
            "hint"
        ]
        is None
    )


def test_the_slowest_changes_with_their_subjects_from_the_repository(
    cli: Cli, tmp_path: Path, store: Path
) -> None:
    builder = RepoBuilder(tmp_path / "app")
    builder.commit("one")
    builder.tag("v1.0.0")
    slow = builder.commit("parse dates as git does", step=10 * 86_400)
    builder.commit("fix a typo")
    builder.tag("v1.1.0")
    assert cli("git", builder.path, "--store", store).exit_code == 0
    period = ("--since", "2020-09-01", "--until", "2020-10-01")
    slowest = json.loads(cli("report", "--store", store, *period, "--json").stdout)[
        "slowest_changes"
    ]
    assert [(c["change"], c["subject"]) for c in slowest] == [
        (slow, "parse dates as git does"),
        (commit_of(builder.path, "fix a typo"), "fix a typo"),
    ]
    # A repository moved away since: the report goes without its subjects.
    builder.path.rename(tmp_path / "moved")
    slowest = json.loads(cli("report", "--store", store, *period, "--json").stdout)[
        "slowest_changes"
    ]
    assert [c["subject"] for c in slowest] == [None, None]
