from __future__ import annotations

import pytest

from pulse_backfill.derive.semver import Version, parse_version


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1.2.3", Version(1, 2, 3)),
        ("v1.2.3", Version(1, 2, 3)),
        ("0.0.0", Version(0, 0, 0)),
        ("10.20.30", Version(10, 20, 30)),
        ("1.0.0-rc.1", Version(1, 0, 0, ("rc", "1"))),
        ("1.0.0-0A.is.legal", Version(1, 0, 0, ("0A", "is", "legal"))),
        ("1.0.0+build.5", Version(1, 0, 0, (), ("build", "5"))),
        ("v1.0.0-alpha-a.b-c+001", Version(1, 0, 0, ("alpha-a", "b-c"), ("001",))),
    ],
)
def test_parses_semver_names(name: str, expected: Version) -> None:
    assert parse_version(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.02.3",
        "v01.2.3",
        "1.2.3-01",  # numeric prerelease identifiers have no leading zeros
        "1.2.3-",
        "1.2.3+",
        "1.2.3-rc..1",
        "V1.2.3",
        "vv1.2.3",
        "release-1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "\u0661.\u0662.\u0663",  # Arabic-Indic digits are digits to Python, not to semver
        "1.2.\uff13",  # a full-width digit
        "",
    ],
)
def test_rejects_names_that_are_not_semver(name: str) -> None:
    assert parse_version(name) is None


def test_precedence_follows_the_semver_spec() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    versions = [parse_version(name) for name in ordered]
    keys = [v.precedence() for v in versions if v is not None]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_build_metadata_does_not_change_precedence() -> None:
    plain, built = parse_version("1.0.0"), parse_version("1.0.0+exp.sha.5114f85")
    assert plain is not None
    assert built is not None
    assert plain.precedence() == built.precedence()
