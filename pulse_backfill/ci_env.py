"""The `Environment` header: which CI runs us, detected as the standard CLI detects it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

UNKNOWN = "_unknown_"

Check = Callable[[Mapping[str, str]], bool]


def _present(*names: str) -> Check:
    return lambda env: all(name in env for name in names)


# First match wins, in the standard CLI's order.
_FIRST: tuple[tuple[str, Check], ...] = (
    ("appveyor", _present("APPVEYOR")),
    ("aws-codebuild", _present("CODEBUILD_BUILD_ID")),
    ("bitrise", _present("BITRISE_IO")),
    ("buddy", _present("BUDDY")),
    ("buildkite", _present("BUILDKITE")),
    ("circleci", _present("CIRCLECI")),
    ("codefresh", _present("CF_BUILD_ID", "CF_BUILD_URL")),
    ("codemagic", _present("FCI_PROJECT_ID")),
    ("codeship", lambda env: env.get("CI_NAME") == "codeship"),
    ("drone", _present("DRONE")),
    ("github-actions", _present("GITHUB_ACTIONS")),
    ("gitlab-ci", _present("GITLAB_CI")),
    ("gocd", _present("GO_PIPELINE_NAME")),
    ("greenhouse", _present("GREENHOUSE")),
    ("heroku-ci", _present("HEROKU_TEST_RUN_ID")),
    ("jenkins", _present("JENKINS_URL")),
    ("jfrog-pipelines", _present("JFROG_CLI_BUILD_NUMBER")),
    ("magnum", _present("MAGNUM")),
    ("semaphore", _present("SEMAPHORE")),
    ("shippable", _present("SHIPPABLE")),
    ("solano", lambda env: "SOLANO" in env or "TDDIUM" in env),
    ("teamcity", _present("TEAMCITY_VERSION")),
    ("travis", _present("TRAVIS")),
    ("wercker", _present("WERCKER_GIT_BRANCH")),
)
# Checked only when none of the above matched: their variables are common elsewhere too.
_FALLBACK: tuple[tuple[str, Check], ...] = (
    ("azure-pipelines", _present("TF_BUILD")),
    ("docker", _present("SOURCE_BRANCH", "SOURCE_COMMIT", "DOCKER_REPO", "DOCKERFILE_PATH")),
    ("google-cloud-build", _present("PROJECT_ID", "BUILD_ID", "COMMIT_SHA", "REVISION_ID")),
)


def detect_environment(env: Mapping[str, str]) -> str:
    for name, matches in (*_FIRST, *_FALLBACK):
        if matches(env):
            return name
    return UNKNOWN
