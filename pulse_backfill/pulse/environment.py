"""The `Environment` header: which CI runs us, detected as the standard CLI detects it."""

from __future__ import annotations

from collections.abc import Mapping

UNKNOWN = "_unknown_"

# (name, variables that must all be present). First match wins, in the standard CLI's order.
_FIRST: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("appveyor", ("APPVEYOR",)),
    ("aws-codebuild", ("CODEBUILD_BUILD_ID",)),
    ("bitrise", ("BITRISE_IO",)),
    ("buddy", ("BUDDY",)),
    ("buildkite", ("BUILDKITE",)),
    ("circleci", ("CIRCLECI",)),
    ("codefresh", ("CF_BUILD_ID", "CF_BUILD_URL")),
    ("codemagic", ("FCI_PROJECT_ID",)),
    ("codeship", ("CI_NAME=codeship",)),
    ("drone", ("DRONE",)),
    ("github-actions", ("GITHUB_ACTIONS",)),
    ("gitlab-ci", ("GITLAB_CI",)),
    ("gocd", ("GO_PIPELINE_NAME",)),
    ("greenhouse", ("GREENHOUSE",)),
    ("heroku-ci", ("HEROKU_TEST_RUN_ID",)),
    ("jenkins", ("JENKINS_URL",)),
    ("jfrog-pipelines", ("JFROG_CLI_BUILD_NUMBER",)),
    ("magnum", ("MAGNUM",)),
    ("semaphore", ("SEMAPHORE",)),
    ("shippable", ("SHIPPABLE",)),
    ("solano", ("SOLANO",)),
    ("solano", ("TDDIUM",)),
    ("teamcity", ("TEAMCITY_VERSION",)),
    ("travis", ("TRAVIS",)),
    ("wercker", ("WERCKER_GIT_BRANCH",)),
)
# Checked only when none of the above matched: their variables are common elsewhere too.
_FALLBACK: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("azure-pipelines", ("TF_BUILD",)),
    ("docker", ("SOURCE_BRANCH", "SOURCE_COMMIT", "DOCKER_REPO", "DOCKERFILE_PATH")),
    ("google-cloud-build", ("PROJECT_ID", "BUILD_ID", "COMMIT_SHA", "REVISION_ID")),
)
RULES = (*_FIRST, *_FALLBACK)
# Every variable detection reads: tests clear them all.
VARIABLES = frozenset(v.split("=")[0] for _, variables in RULES for v in variables)


def _holds(condition: str, env: Mapping[str, str]) -> bool:
    # "NAME=value" wants that value; a bare NAME wants the variable present, whatever its value.
    name, _, value = condition.partition("=")
    return name in env and (not value or env[name] == value)


def detect_environment(env: Mapping[str, str]) -> str:
    for name, conditions in RULES:
        if all(_holds(condition, env) for condition in conditions):
            return name
    return UNKNOWN
