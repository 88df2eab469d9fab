"""The derivation on the fixture repositories: exact deployments, checked against git itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.build_repos import AUTHOR_LAG
from fixtures.fast_import import CommitSpec, TagSpec, build
from pulse_backfill.commands.sync import derive_repository
from pulse_backfill.dates import parse_date
from pulse_backfill.derive.derivation import ChangeTime, Derivation, DerivationOptions, Status
from pulse_backfill.derive.releases import DeployTime, TagRules, suggest_rules
from pulse_backfill.derive.sources import TagSource
from pulse_backfill.git.repository import Repository
from tests.gitoracle import commit_of, git, shipped, subjects
from tests.reachability import first_reach, parents_in


def derive_at(path: Path, rules: TagRules | None = None, **options: object) -> Derivation:
    repository = Repository(path)
    derived = derive_repository(
        repository, TagSource(rules or TagRules()), DerivationOptions(**options)
    )  # type: ignore[arg-type]
    return derived.derivation


def table(path: Path, derivation: Derivation) -> list[tuple[str, Status, list[str]]]:
    return [
        (d.id, d.status, subjects(path, [c.id for c in d.changes])) for d in derivation.deployments
    ]


def assert_ships_what_reachability_gives(path: Path, derivation: Derivation) -> None:
    """Rule 5: each deployment ships what the model gives it. Without clock skew (as in every
    fixture repository), git's `rev-list <commit> --not <every earlier one>` says the same."""
    commits = [deployment.commit for deployment in derivation.deployments]
    model = first_reach(parents_in(path), commits)
    for position, (deployment, expected) in enumerate(
        zip(derivation.deployments, model, strict=True)
    ):
        assert shipped(path, deployment.commit, commits[:position]) == expected, deployment.id
        if deployment.status is Status.SEND:
            assert {c.id for c in deployment.changes} == expected, deployment.id
        elif deployment.status is Status.EMPTY:
            assert expected == set(), deployment.id


def test_linear_history(repos: dict[str, Path]) -> None:
    path = repos["linear"]
    derivation = derive_at(path)
    assert table(path, derivation) == [
        ("0.1.0", Status.BASELINE, []),
        ("v0.2.0", Status.SEND, ["add parser", "add cli"]),
        ("v1.0.0", Status.SEND, ["fix parser"]),
        (
            "v1.1.0",
            Status.SEND,
            [
                "export: csv",
                "export: json",
                "docs",
                "Merge branch 'feature/export'",
                "polish export",
            ],
        ),
        ("v1.1.1", Status.EMPTY, []),
        ("v1.2.0", Status.SEND, ["speed up", "new output format"]),
        ("v1.3.0", Status.SEND, ["last fix"]),
    ]
    assert_ships_what_reachability_gives(path, derivation)


def test_deployment_times_follow_the_tag_kind(repos: dict[str, Path]) -> None:
    path = repos["linear"]
    times = {d.id: d.time for d in derive_at(path).deployments}

    def tagger(tag: str) -> int:
        return int(git(path, "for-each-ref", "--format=%(taggerdate:unix)", f"refs/tags/{tag}"))

    def committed(rev: str) -> int:
        return int(git(path, "log", "-1", "--format=%ct", rev))

    assert times["v1.0.0"] == tagger("v1.0.0") == committed("v1.0.0") + 3 * 3600
    assert times["v0.2.0"] == committed("v0.2.0")  # lightweight
    assert times["v1.2.0"] == tagger("v1.2.0")  # the outermost tag of a tag of a tag
    assert times["v1.2.0"] != tagger("inner-tag")
    assert times["v1.3.0"] == committed("v1.3.0")  # annotated, but no tagger


def test_deploy_time_commit_uses_committer_dates(repos: dict[str, Path]) -> None:
    path = repos["linear"]
    derivation = derive_at(path, TagRules(deploy_time=DeployTime.COMMIT))
    for deployment in derivation.deployments:
        assert deployment.time == int(git(path, "log", "-1", "--format=%ct", deployment.commit))
    # v1.1.0 and v1.1.1 now tie on time: semver precedence orders them.
    assert [d.id for d in derivation.deployments][3:5] == ["v1.1.0", "v1.1.1"]


def test_change_times(repos: dict[str, Path]) -> None:
    path = repos["linear"]
    by_author = {c.id: c.time for d in derive_at(path).sent for c in d.changes}
    by_commit = {
        c.id: c.time for d in derive_at(path, change_time=ChangeTime.COMMIT).sent for c in d.changes
    }
    fix = commit_of(path, "fix parser")
    assert by_author[fix] == int(git(path, "log", "-1", "--format=%at", fix))
    assert by_commit[fix] == by_author[fix] + AUTHOR_LAG


def test_changes_are_ordered_by_time_then_id(repos: dict[str, Path]) -> None:
    for deployment in derive_at(repos["release-branches"], include_first=True).sent:
        keys = [(c.time, c.id) for c in deployment.changes]
        assert keys == sorted(keys)


def test_release_branches_ship_only_their_own_commits(repos: dict[str, Path]) -> None:
    path = repos["release-branches"]
    derivation = derive_at(path)
    assert table(path, derivation) == [
        ("v1.0.0", Status.BASELINE, []),
        ("v1.1.0", Status.SEND, ["feature a", "feature b"]),
        ("v2.0.0", Status.SEND, ["breaking change", "feature c"]),
        ("v1.1.1", Status.SEND, ["fix 1 on 1.1"]),
        ("v2.1.0", Status.SEND, ["Merge branch 'release/1.1'", "feature d"]),
        ("v1.1.2", Status.SEND, ["fix 2 on 1.1"]),
        ("v2.2.0", Status.SEND, ["feature e", "feature f"]),
    ]
    assert_ships_what_reachability_gives(path, derivation)


def test_prereleases_when_asked(repos: dict[str, Path]) -> None:
    path = repos["release-branches"]
    derivation = derive_at(path, TagRules(include_prereleases=True))
    assert table(path, derivation)[-3:] == [
        ("v2.2.0-beta.1", Status.SEND, ["feature e"]),
        ("v2.2.0-beta.2", Status.EMPTY, []),
        ("v2.2.0", Status.SEND, ["feature f"]),
    ]
    assert_ships_what_reachability_gives(path, derivation)


def test_no_merges_leaves_merge_commits_out(repos: dict[str, Path]) -> None:
    path = repos["release-branches"]
    changes = {
        d.id: subjects(path, [c.id for c in d.changes])
        for d in derive_at(path, no_merges=True).sent
    }
    assert changes["v2.1.0"] == ["feature d"]


def test_include_first_sends_all_history_of_the_first(repos: dict[str, Path]) -> None:
    path = repos["release-branches"]
    first = derive_at(path, include_first=True).deployments[0]
    assert (first.id, first.status, subjects(path, [c.id for c in first.changes])) == (
        "v1.0.0",
        Status.SEND,
        ["initial"],
    )


def test_since_makes_earlier_deployments_baselines(repos: dict[str, Path]) -> None:
    path = repos["linear"]
    derivation = derive_at(path, since=parse_date("2020-10-01"))
    assert [(d.id, d.status) for d in derivation.deployments[:3]] == [
        ("0.1.0", Status.BASELINE),
        ("v0.2.0", Status.BASELINE),
        ("v1.0.0", Status.SEND),
    ]
    # Baselines still bound what later deployments shipped.
    assert subjects(path, [c.id for c in derivation.deployments[2].changes]) == ["fix parser"]


def test_since_is_inclusive_and_until_exclusive(repos: dict[str, Path]) -> None:
    path = repos["linear"]
    times = {d.id: d.time for d in derive_at(path).deployments}
    derivation = derive_at(path, since=times["v1.0.0"], until=times["v1.2.0"])
    assert [(d.id, d.status) for d in derivation.deployments] == [
        ("0.1.0", Status.BASELINE),
        ("v0.2.0", Status.BASELINE),
        ("v1.0.0", Status.SEND),
        ("v1.1.0", Status.SEND),
        ("v1.1.1", Status.EMPTY),
    ]


def test_tag_prefix_selects_one_service(repos: dict[str, Path]) -> None:
    path = repos["monorepo"]
    derivation = derive_at(path, TagRules(prefix="service-a/"))
    assert table(path, derivation) == [
        ("service-a/v1.0.0", Status.BASELINE, []),
        (
            "service-a/v1.1.0",
            Status.SEND,
            ["service-b: start", "service-a: feature", "docs: both services"],
        ),
        (
            "service-a/v2.0.0",
            Status.SEND,
            ["service-b: feature", "service-b: fix", "service-a: breaking"],
        ),
    ]
    assert_ships_what_reachability_gives(path, derivation)


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["service-a"], [["service-a: feature"], ["service-a: breaking"]]),
        (
            ["service-a", "docs/"],
            [["service-a: feature", "docs: both services"], ["service-a: breaking"]],
        ),
        (["service-b"], [["service-b: start"], ["service-b: feature", "service-b: fix"]]),
        (["nowhere"], [[], []]),
    ],
)
def test_paths_keep_the_commits_that_touch_them(
    repos: dict[str, Path], paths: list[str], expected: list[list[str]]
) -> None:
    path = repos["monorepo"]
    rules = TagRules(prefix="service-a/")
    derivation = derive_repository(
        Repository(path), TagSource(rules), DerivationOptions(), paths=paths
    ).derivation
    assert [subjects(path, [c.id for c in d.changes]) for d in derivation.deployments[1:]] == (
        expected
    )
    # A deployment none of whose commits touch the paths has nothing to send.
    assert [d.status for d in derivation.deployments[1:]] == [
        Status.SEND if changes else Status.EMPTY for changes in expected
    ]
    for deployment in derivation.deployments[1:]:
        touching = set(git(path, "log", "--format=%H", deployment.commit, "--", *paths).split())
        assert {c.id for c in deployment.changes} <= touching


def test_unprefixed_rules_ignore_prefixed_tags(repos: dict[str, Path]) -> None:
    assert [d.id for d in derive_at(repos["monorepo"]).deployments] == ["v1.0.0", "v1.1.0"]


def test_tag_pattern_replaces_the_rules(repos: dict[str, Path]) -> None:
    path = repos["linear"]
    derivation = derive_at(path, TagRules(pattern=re.compile(r"release-.*|1\.2")))
    assert [(d.id, d.status) for d in derivation.deployments] == [
        ("release-2020-10", Status.BASELINE),
        ("1.2", Status.SEND),
    ]
    assert_ships_what_reachability_gives(path, derivation)


def test_tags_that_point_at_no_commit_are_skipped_with_a_warning(repos: dict[str, Path]) -> None:
    derived = derive_repository(
        Repository(repos["linear"]), TagSource(TagRules()), DerivationOptions()
    )
    warnings = derived.found.warnings
    assert warnings == ["tag v9.9.9 points at a tree, not a commit: skipped"]


@pytest.mark.parametrize("name", ["linear", "release-branches", "monorepo"])
def test_every_fixture_matches_git(repos: dict[str, Path], name: str) -> None:
    for rules, options in (
        (TagRules(), {}),
        (TagRules(include_prereleases=True), {}),
        (TagRules(deploy_time=DeployTime.COMMIT), {"include_first": True}),
        (TagRules(prefix="service-b/"), {}),
    ):
        derivation = derive_at(repos[name], rules, **options)
        assert_ships_what_reachability_gives(repos[name], derivation)


@pytest.mark.parametrize(
    ("names", "suggestions"),
    [
        (["nightly", "latest"], []),
        (["1.0.0-rc.1", "2.0.0-beta"], ["--include-prereleases"]),
        (
            ["api/v1.0.0", "api/v1.1.0", "web-2.0.0", "release-2021"],
            ["--tag-prefix 'api/'", "--tag-prefix 'web-'"],
        ),
        (["a/1.0.0", "b/1.0.0", "c/1.0.0", "d/1.0.0"], [f"--tag-prefix '{p}/'" for p in "abc"]),
    ],
)
def test_suggested_rules_for_tags_that_matched_nothing(
    names: list[str], suggestions: list[str]
) -> None:
    assert suggest_rules(names) == suggestions


def test_a_release_whose_history_runs_through_1971_ships_its_commits_once(
    tmp_path: Path,
) -> None:
    # v1.0.0's history runs through eight commits dated in 1971. git's walk for
    # `v1.1.0 --not v1.0.0` queues them last, gives up after five (its "slop"), and so never
    # learns that v1.0.0 reaches the two commits below them: it prints them again.
    year_2020, year_1971 = 1_577_836_800, 31_536_000
    day = 86_400
    commits = [
        CommitSpec((), year_2020, year_2020),  # 0: the root
        CommitSpec((0,), year_2020 + day, year_2020 + day),  # 1
        *(CommitSpec((n,), year_1971 + n * day, year_1971 + n * day) for n in range(1, 9)),
        CommitSpec((9,), year_2020 + 30 * day, year_2020 + 30 * day),  # 10: v1.0.0
        CommitSpec((1, 10), year_2020 + 60 * day, year_2020 + 60 * day),  # 11: v1.1.0
    ]
    path = tmp_path / "skewed.git"
    ids = build(path, commits, [TagSpec("v1.0.0", 10, None), TagSpec("v1.1.0", 11, None)])
    # What git itself says, which the rule does not follow.
    assert shipped(path, ids[11], [ids[10]]) == {ids[11], ids[1], ids[0]}

    derived = derive_repository(
        Repository(path), TagSource(TagRules()), DerivationOptions(include_first=True)
    )

    assert [(d.id, {c.id for c in d.changes}) for d in derived.derivation.deployments] == [
        ("v1.0.0", set(ids[:11])),
        ("v1.1.0", {ids[11]}),
    ]
    assert derived.found.warnings == []


def test_no_rule_is_suggested_that_is_in_use() -> None:
    names = ["svc/v1.0.0", "svc/v1.1.0-rc.1", "web-2.0.0", "1.0.0-rc.1"]
    assert suggest_rules(names, TagRules(prefix="svc/", include_prereleases=True)) == [
        "--tag-prefix 'web-'"
    ]
    assert suggest_rules(names) == [
        "--include-prereleases",
        "--tag-prefix 'svc/'",
        "--tag-prefix 'web-'",
    ]
