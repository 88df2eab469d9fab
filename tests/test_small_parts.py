"""Table tests of the small pure parts: dates, CI detection, the JSON encoding."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulse_backfill.dates import LAST_SECOND, parse_date, rfc3339
from pulse_backfill.derive.derivation import Deployment, Derivation, Status
from pulse_backfill.derive.history import Change
from pulse_backfill.pulse.environment import detect_environment
from pulse_backfill.pulse.events import (
    NdjsonLines,
    change_event,
    deployment_event,
    encode_json,
    events_in_order,
    git_change_events,
)


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2020-10-01", 1601510400),
        ("2020-10-01T12:00:00Z", 1601553600),
        ("2020-10-01T12:00:00+02:00", 1601546400),
        ("2020-10-01T12:00:00", 1601553600),
        ("2020-10-01 12:00", 1601553600),
        ("1601510400", 1601510400),
        (" 2020-10-01 ", 1601510400),
    ],
)
def test_dates(text: str, epoch: int) -> None:
    assert parse_date(text) == epoch


@pytest.mark.parametrize(
    "text", ["the day before", "2 weeks", "2020-13-01", "2020-02-30", "", "1.5", "20201001x"]
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date: use YYYY-MM-DD"):
        parse_date(text)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "_unknown_"),
        ({"CI": "true"}, "_unknown_"),
        ({"APPVEYOR": "True"}, "appveyor"),
        ({"CODEBUILD_BUILD_ID": "x"}, "aws-codebuild"),
        ({"BITRISE_IO": "x"}, "bitrise"),
        ({"BUDDY": "x"}, "buddy"),
        ({"BUILDKITE": "x"}, "buildkite"),
        ({"CIRCLECI": "x"}, "circleci"),
        ({"CF_BUILD_ID": "x"}, "_unknown_"),
        ({"CF_BUILD_ID": "x", "CF_BUILD_URL": "y"}, "codefresh"),
        ({"FCI_PROJECT_ID": "x"}, "codemagic"),
        ({"CI_NAME": "codeship"}, "codeship"),
        ({"CI_NAME": "other"}, "_unknown_"),
        ({"DRONE": "x"}, "drone"),
        ({"GITHUB_ACTIONS": "true"}, "github-actions"),
        ({"GITLAB_CI": "x"}, "gitlab-ci"),
        ({"GO_PIPELINE_NAME": "x"}, "gocd"),
        ({"GREENHOUSE": "x"}, "greenhouse"),
        ({"HEROKU_TEST_RUN_ID": "x"}, "heroku-ci"),
        ({"JENKINS_URL": "x"}, "jenkins"),
        ({"JFROG_CLI_BUILD_NUMBER": "x"}, "jfrog-pipelines"),
        ({"MAGNUM": "x"}, "magnum"),
        ({"SEMAPHORE": "x"}, "semaphore"),
        ({"SHIPPABLE": "x"}, "shippable"),
        ({"SOLANO": "x"}, "solano"),
        ({"TDDIUM": "x"}, "solano"),
        ({"TEAMCITY_VERSION": "x"}, "teamcity"),
        ({"TRAVIS": "x"}, "travis"),
        ({"WERCKER_GIT_BRANCH": "x"}, "wercker"),
        ({"TF_BUILD": "x"}, "azure-pipelines"),
        ({"TF_BUILD": "x", "GITHUB_ACTIONS": "true"}, "github-actions"),
        ({"SOURCE_BRANCH": "a", "SOURCE_COMMIT": "b", "DOCKER_REPO": "c"}, "_unknown_"),
        (
            {
                "SOURCE_BRANCH": "a",
                "SOURCE_COMMIT": "b",
                "DOCKER_REPO": "c",
                "DOCKERFILE_PATH": "d",
            },
            "docker",
        ),
        (
            {"PROJECT_ID": "a", "BUILD_ID": "b", "COMMIT_SHA": "c", "REVISION_ID": "d"},
            "google-cloud-build",
        ),
        ({"APPVEYOR": "x", "TRAVIS": "x"}, "appveyor"),
    ],
)
def test_ci_detection(env: dict[str, str], name: str) -> None:
    assert detect_environment(env) == name


def test_times_are_go_rfc3339_in_utc() -> None:
    assert rfc3339(1602852032) == "2020-10-16T12:40:32Z"


@given(st.integers(min_value=-62_135_596_800, max_value=LAST_SECOND))
def test_rfc3339_is_strftimes_for_any_second(epoch: int) -> None:
    assert rfc3339(epoch) == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@given(
    commit=st.text("0123456789abcdef", min_size=40, max_size=64),
    when=st.integers(min_value=0, max_value=LAST_SECOND),
)
def test_a_git_change_event_is_the_standard_clis(commit: str, when: int) -> None:
    (event,) = git_change_events([Change(when, commit)], system="api")

    assert event == change_event(commit, when, system="api", source="git", event_type="commit")


def test_json_is_encoded_as_go_encodes_it() -> None:
    assert (
        encode_json({"a": "<tag> & \u2028 é"})
        == b'{"a":"\\u003ctag\\u003e \\u0026 \\u2028 \xc3\xa9"}'
    )


def test_bodies_keep_the_standard_clis_field_order() -> None:
    assert list(change_event("c", 0, system=None).body) == [
        "source",
        "change_id",
        "time_created",
        "event_type",
        "$type",
    ]
    assert list(deployment_event("d", 0, ["c"], system=None).body) == [
        "source",
        "deploy_id",
        "time_created",
        "changes",
        "teams",
        "$type",
    ]


@given(st.recursive(st.text() | st.none(), lambda inner: st.lists(inner), max_leaves=5))
def test_the_fast_json_encoding_is_gos_for_any_value(value: object) -> None:
    reference = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        reference = reference.replace(raw, escaped)
    assert encode_json(value) == reference.encode("utf-8")


@given(
    change_id=st.text(),
    when=st.integers(min_value=0, max_value=4_000_000_000),
    source=st.text(),
    event_type=st.text(),
    system=st.none() | st.text(),
)
def test_a_formatted_change_is_the_dict_encoded(
    change_id: str, when: int, source: str, event_type: str, system: str | None
) -> None:
    event = change_event(change_id, when, system=system, source=source, event_type=event_type)
    body = {
        "source": source,
        "change_id": change_id,
        "time_created": rfc3339(when),
        "event_type": event_type,
        "$type": "change",
    }
    assert event.payload == encode_json(body)
    assert event.ndjson_line() == encode_json({**body, "system": system}) + b"\n"


def _dry_run_derivation() -> Derivation:
    def deployment(tag: str, when: int, status: Status, *changes: Change) -> Deployment:
        return Deployment(tag, f"{when:040x}", when, status, changes)

    return Derivation(
        (
            deployment("v1.0.0", 100, Status.BASELINE),
            deployment("v1.1.0", 200, Status.SEND, Change(150, "a" * 40), Change(160, "b" * 40)),
            deployment("v1.2.0", 300, Status.EMPTY),
            deployment("v1.3.0", 400, Status.SEND, Change(350, "c" * 40)),
        )
    )


def test_dry_run_lines_are_the_events_lines_in_order() -> None:
    derivation = _dry_run_derivation()
    written = b"".join(NdjsonLines(system="api", teams=["core"]).in_order(derivation))

    events = events_in_order(derivation, system="api", teams=["core"])
    assert written == b"".join(event.ndjson_line() for event in events)
