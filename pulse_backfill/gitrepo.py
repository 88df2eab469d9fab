"""Everything this tool asks git, in one place; returns plain `history` data.

Whole-history questions are one git process each (`for-each-ref`, `rev-list`): never a process
per tag or per commit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from pulse_backfill.errors import RepositoryError
from pulse_backfill.history import CommitGraph, TagRef

_TAG_FORMAT = "%00".join(
    [
        "%(refname)",
        "%(objecttype)",
        "%(objectname)",
        "%(taggerdate:unix)",
        "%(*objecttype)",
        "%(*objectname)",
    ]
)
_TAGS_PREFIX = b"refs/tags/"


class Repository:
    """A local repository, with a work tree or bare."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._repo = git.Repo(path)
        except NoSuchPathError:
            raise RepositoryError(
                f"{path} does not exist: pass the path of a git repository"
            ) from None
        except InvalidGitRepositoryError:
            raise RepositoryError(
                f"{path} is not a git repository: pass a repository's folder, or clone one first"
            ) from None
        if self._git("rev-parse", "--is-shallow-repository").strip() == b"true":
            raise RepositoryError(
                f"{path} is a shallow clone, so the changes of its deployments would be wrong: "
                f"fetch its full history with 'git -C {path} fetch --unshallow --tags'"
            )

    @property
    def name(self) -> str:
        """The repository's folder name, without `.git`: the default system."""
        root = Path(self._repo.working_tree_dir or self._repo.git_dir).resolve()
        if root.name == ".git":
            root = root.parent
        return root.name.removesuffix(".git")

    def has_commits(self) -> bool:
        return bool(self._git("rev-list", "-n", "1", "--all").strip())

    def read_tags(self) -> tuple[list[TagRef], list[str]]:
        """Every tag peeled to its final object, and a warning for each we cannot read."""
        output = self._git("for-each-ref", f"--format={_TAG_FORMAT}", "refs/tags")
        tags: list[TagRef] = []
        warnings: list[str] = []
        for line in output.splitlines():
            refname, objtype, objname, tagger, peeled_type, peeled_name = line.split(b"\0")
            raw_name = refname.removeprefix(_TAGS_PREFIX)
            try:
                name = raw_name.decode("utf-8")
            except UnicodeDecodeError:
                shown = raw_name.decode("utf-8", errors="replace")
                warnings.append(f"tag {shown!r} has a name that is not UTF-8: skipped")
                continue
            if objtype != b"tag":
                tags.append(TagRef(name, objname.decode(), objtype.decode()))
                continue
            target, target_type = peeled_name.decode(), peeled_type.decode()
            if target_type == "tag":
                # A tag of a tag: for-each-ref peels one level; git peels the rest.
                target = self._git("rev-parse", "--verify", f"{objname.decode()}^{{}}").decode()
                target = target.strip()
                target_type = self._git("cat-file", "-t", target).decode().strip()
            tagger_time = int(tagger.split()[0]) if tagger.strip() else None
            tags.append(TagRef(name, target, target_type, tagger_time))
        return tags, warnings

    def read_history(self, tips: Iterable[str]) -> CommitGraph:
        """Every commit reachable from `tips`, with parents, author and committer dates."""
        graph = CommitGraph()
        tip_list = sorted(set(tips))
        if not tip_list:
            return graph
        # Tips go through stdin: a thousand tags would crowd the command line.
        with tempfile.TemporaryFile() as revisions:
            revisions.write("\n".join(tip_list).encode() + b"\n")
            revisions.seek(0)
            process = self._repo.git.rev_list(
                "--no-commit-header",
                "--format=%H %at %ct %P",
                "--stdin",
                as_process=True,
                istream=revisions,
            )
            try:
                assert process.proc is not None
                assert process.proc.stdout is not None
                for line in process.proc.stdout:
                    commit_id, author_time, commit_time, *parents = line.decode().split()
                    graph.add(commit_id, parents, int(author_time), int(commit_time))
                process.wait()
            except GitCommandError as error:
                raise self._failure(error) from None
        return graph

    def _git(self, *args: str) -> bytes:
        try:
            output: bytes = self._repo.git.execute(
                ["git", *args], stdout_as_string=False, strip_newline_in_stdout=False
            )
        except GitCommandError as error:
            raise self._failure(error) from None
        return output

    def _failure(self, error: GitCommandError) -> RepositoryError:
        # GitPython wraps git's stderr as "\n  stderr: '...'": keep git's first own line.
        stderr = str(error.stderr or "").strip()
        stderr = stderr.removeprefix("stderr:").strip().strip("'")
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        detail = lines[0] if lines else f"exit code {error.status}"
        for prefix in ("fatal: ", "error: "):
            detail = detail.removeprefix(prefix)
        return RepositoryError(
            f"git cannot read {self.path} ({detail}): check the repository with 'git fsck'"
        )
