"""Everything this tool asks git, in one place; returns plain `history` data.

Whole-history questions are one git process each (`for-each-ref`, `rev-list`): never a process
per tag or per commit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, BinaryIO

from git.exc import GitCommandError

from pulse_backfill.derive.history import TagRef
from pulse_backfill.errors import RepositoryError
from pulse_backfill.git import process

_TAG_FORMAT = "%00".join(
    [
        "%(refname)",
        "%(objecttype)",
        "%(objectname)",
        "%(taggerdate:unix)",
        "%(*objecttype)",
        "%(*objectname)",
        "%(committerdate:unix)",
        "%(*committerdate:unix)",
    ]
)
_TAGS_PREFIX = b"refs/tags/"


class Repository:
    """A local repository, with a work tree or bare."""

    def __init__(self, path: Path, *, label: str | None = None, name: str | None = None) -> None:
        self.path = path
        self.label = label or str(path)  # how messages name it (a URL for a cached clone)
        self._name = name
        if not path.exists():
            raise RepositoryError(f"{path} does not exist: pass the path of a git repository")
        # Opened as git opens it, by asking git for its git directory: a bare repository whose
        # `config` is missing (as some mirroring and backup tools leave them) is read as git
        # reads it, where GitPython would guess from the files.
        try:
            found = process.run(
                [
                    "git",
                    "-C",
                    str(path),
                    "rev-parse",
                    "--absolute-git-dir",
                    "--is-bare-repository",
                    "--is-shallow-repository",
                ]
            ).decode()
        except GitCommandError as error:
            raise _not_readable(path, error) from None
        self.git_dir, bare, shallow = found.splitlines()
        self._bare = bare == "true"
        if shallow == "true":
            raise RepositoryError(
                f"{path} is a shallow clone, so the changes of its deployments would be wrong: "
                f"fetch its full history with 'git -C {path} fetch --unshallow --tags'"
            )

    @property
    def name(self) -> str:
        """The repository's folder name, without `.git`: the default system."""
        if self._name is not None:
            return self._name
        root = Path(self.git_dir)
        if not self._bare:
            try:  # the work tree's folder; from inside the git directory there is none to show
                shown = process.run(["git", "-C", str(self.path), "rev-parse", "--show-toplevel"])
                root = Path(shown.decode().strip())
            except GitCommandError:
                pass
        if root.name == ".git":
            root = root.parent
        return root.name.removesuffix(".git")

    def resolve(self, ref: str, option: str) -> str:
        """The commit `ref` names; a usage error naming `option` when it names none."""
        try:
            output = process.run(
                [
                    "git",
                    "--git-dir",
                    self.git_dir,
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    f"{ref}^{{commit}}",
                ]
            )
        except GitCommandError:
            raise RepositoryError(
                f"{option} {ref!r} names no commit in {self.label}: pass a tag, branch or commit "
                "of that repository"
            ) from None
        return output.decode().strip()

    def log(self, start: str, end: str, paths: Sequence[str] = ()) -> list[tuple[str, int]]:
        """`git log START..END [-- PATHS]`: each commit and its author date, newest first."""
        arguments = ["log", "--format=%H %at", f"{start}..{end}"]
        if paths:
            arguments += ["--", *paths]
        commits = []
        for line in self._git(*arguments).decode().splitlines():
            commit_id, author_time = line.split()
            commits.append((commit_id, int(author_time)))
        return commits

    def remote_url(self, name: str = "origin") -> str | None:
        """The URL of the remote `name`, as its config says (None when it has none)."""
        try:
            url = process.run(
                ["git", "--git-dir", self.git_dir, "config", "--get", f"remote.{name}.url"]
            )
        except GitCommandError:
            return None
        return url.decode().strip() or None

    def has_commits(self) -> bool:
        return bool(self._git("rev-list", "-n", "1", "--all").strip())

    def branches(self) -> list[str]:
        return self._git("for-each-ref", "--format=%(refname:short)", "refs/heads").decode().split()

    def default_branch(self) -> str | None:
        """The branch HEAD names (in a clone of a URL, the remote's default), if it has one."""
        try:
            name = process.run(
                ["git", "--git-dir", self.git_dir, "symbolic-ref", "--quiet", "--short", "HEAD"]
            )
        except GitCommandError:
            return None  # a detached HEAD
        branch = name.decode().strip()
        return branch if self._git("branch", "--list", branch).strip() else None

    def first_parent_line(
        self, tip: str, *, after: str | None = None
    ) -> tuple[list[tuple[str, int]], bool]:
        """The commits of `tip`'s first-parent line, oldest first, with their committer dates;
        and whether that is the whole line. With `after`, only those after it, when it is on
        that line (a branch that was not rewritten)."""
        if after is not None:
            newer = self._first_parents(f"{after}..{tip}")
            if newer and self._git("rev-parse", f"{newer[0][0]}^").strip().decode() == after:
                return newer, False
            if not newer and tip == after:
                return [], False
        return self._first_parents(tip), True

    def _first_parents(self, revisions: str) -> list[tuple[str, int]]:
        output = self._git("log", "--first-parent", "--reverse", "--format=%H %ct", revisions)
        commits = []
        for line in output.decode().splitlines():
            commit_id, committed = line.split()
            commits.append((commit_id, int(committed)))
        return commits

    def commits_named(self, names: Sequence[str]) -> list[str | None]:
        """The commit each of `names` (a full or short id, a tag, a branch) names; None for a name
        that names none in this repository. One git process for them all."""
        asked = [name for name in names if "\n" not in name]  # a line of input is one name
        if not asked:
            return [None] * len(names)
        with tempfile.TemporaryFile() as stdin:
            stdin.write("".join(f"{name}^{{commit}}\n" for name in asked).encode())
            stdin.seek(0)
            output = self._git(
                "cat-file", "--batch-check=%(objectname) %(objecttype)", stdin=stdin
            ).decode()
        found: dict[str, str | None] = {}
        for name, line in zip(asked, output.splitlines(), strict=True):
            commit, _, kind = line.rpartition(" ")
            found[name] = commit if kind == "commit" else None  # else "missing", "ambiguous"
        return [found.get(name) for name in names]

    def read_tags(self) -> tuple[list[TagRef], list[str]]:
        """Every tag peeled to its final object, and a warning for each we cannot read."""
        output = self._git("for-each-ref", f"--format={_TAG_FORMAT}", "refs/tags")
        tags: list[TagRef] = []
        warnings: list[str] = []
        nested: list[tuple[int, str]] = []  # tags of tags, by their place in `tags`
        for line in output.splitlines():
            fields = line.split(b"\0")
            refname, objtype, objname, tagger, peeled_type, peeled_name = fields[:6]
            commit_time, peeled_commit_time = _epoch(fields[6]), _epoch(fields[7])
            raw_name = refname.removeprefix(_TAGS_PREFIX)
            try:
                name = raw_name.decode("utf-8")
            except UnicodeDecodeError:
                shown = raw_name.decode("utf-8", errors="replace")
                warnings.append(f"tag {shown!r} has a name that is not UTF-8: skipped")
                continue
            if objtype != b"tag":
                tags.append(TagRef(name, objname.decode(), objtype.decode(), None, commit_time))
                continue
            if peeled_type == b"tag":  # for-each-ref peels one level; git peels the rest
                nested.append((len(tags), objname.decode()))
            tagger_time = _epoch(tagger.split()[0]) if tagger.strip() else None
            target, target_type = peeled_name.decode(), peeled_type.decode()
            tags.append(TagRef(name, target, target_type, tagger_time, peeled_commit_time))
        if nested:
            peeled = self._peel([objname for _, objname in nested])
            for (place, _), (target, target_type, commit_time) in zip(nested, peeled, strict=True):
                tags[place] = replace(
                    tags[place], target=target, target_type=target_type, commit_time=commit_time
                )
        return tags, warnings

    def _peel(self, objects: Sequence[str]) -> list[tuple[str, str, int | None]]:
        """Each of `objects` peeled to what it finally points at: its id, its type, and its
        committer date when it is a commit. One git process for them all."""
        with tempfile.TemporaryFile() as stdin:
            stdin.write("".join(f"{name}^{{}}\n" for name in objects).encode())
            stdin.seek(0)
            output = self._git("cat-file", "--batch", stdin=stdin)
        peeled = []
        at = 0
        for _ in objects:
            end = output.index(b"\n", at)
            target, target_type, size = output[at:end].decode().split()
            content = output[end + 1 : end + 1 + int(size)]
            at = end + 1 + int(size) + 1  # the object, then a newline
            commit_time = None
            if target_type == "commit":
                committer = next(
                    line for line in content.split(b"\n") if line.startswith(b"committer ")
                )
                commit_time = int(committer.rsplit(b" ", 2)[1])
            peeled.append((target, target_type, commit_time))
        return peeled

    @contextmanager
    def history_log(
        self, tips: Sequence[str], *, exclude: Sequence[str] = (), committer_time: bool = False
    ) -> Iterator[Iterable[bytes]]:
        """git's log of every commit `tips` reach and none of `exclude` do, as it streams: a line
        per commit, its id, its author date (or committer date) and its parents' ids.

        Under clock skew git may also list commits that `exclude` reaches: its walk stops once
        its queue holds only those it knows to be reachable from `exclude`, which a commit dated
        before its parent can hide. It never leaves out one that they do not reach.
        """
        revisions = _revisions(tips, exclude)
        if not revisions:
            yield iter(())
            return
        time = "%ct" if committer_time else "%at"
        with self._rev_list(revisions, ["--no-commit-header", f"--format=%H {time} %P"]) as log:
            yield log

    def messages(
        self, tips: Sequence[str], *, exclude: Sequence[str] = (), reverts_only: bool = False
    ) -> dict[str, str]:
        """The full message of each commit of `tips --not exclude`; with `reverts_only`, only of
        those with a line saying what they revert (git revert's "This reverts commit"), which git
        finds without handing us the rest."""
        revisions = _revisions(tips, exclude)
        if not revisions:
            return {}
        options = ["--no-commit-header", "--format=%x1e%H%n%B"]
        if reverts_only:
            options += ["--fixed-strings", "--grep=This reverts commit "]
        with self._rev_list(revisions, options) as lines:
            output = b"".join(lines).decode("utf-8", errors="replace")
        found = {}
        for record in output.split("\x1e")[1:]:
            commit, _, message = record.partition("\n")
            found[commit] = message.strip("\n")
        return found

    def subjects(self, tips: Sequence[str], *, exclude: Sequence[str] = ()) -> dict[str, str]:
        """The subject (first line) of each commit of `tips --not exclude`."""
        revisions = _revisions(tips, exclude)
        if not revisions:
            return {}
        with self._rev_list(revisions, ["--no-commit-header", "--format=%H %s"]) as lines:
            found = {}
            for line in lines:
                commit, _, subject = line.decode("utf-8", errors="replace").partition(" ")
                found[commit] = subject.rstrip("\n")
        return found

    def subjects_of(self, commits: Sequence[str]) -> dict[str, str]:
        """The subject of each of `commits` this repository has (one git process)."""
        if not commits:
            return {}
        with tempfile.TemporaryFile() as stdin:
            stdin.write("".join(f"{commit}\n" for commit in commits).encode())
            stdin.seek(0)
            output = self._git(
                "log", "--no-walk=unsorted", "--ignore-missing", "--stdin", "--format=%H %s",
                stdin=stdin,
            )  # fmt: skip
        found = {}
        for line in output.decode("utf-8", errors="replace").splitlines():
            commit, _, subject = line.partition(" ")
            found[commit] = subject
        return found

    def is_proper_ancestor(self, commit: str, of: str) -> bool:
        """Whether `commit` is an ancestor of `of`, and not `of` itself."""
        if commit == of:
            return False
        try:
            process.run(
                ["git", "--git-dir", self.git_dir, "merge-base", "--is-ancestor", commit, of]
            )
        except GitCommandError as error:
            if error.status == 1:  # not an ancestor; anything else: git could not tell
                return False
            raise self._failure(error) from None
        return True

    def touching(
        self, tips: Iterable[str], paths: Sequence[str], exclude: Iterable[str] = ()
    ) -> frozenset[str]:
        """Commits of `tips --not exclude` that change one of `paths`, as `git log -- PATH` says
        of the whole history (git's default history simplification, as the standard CLI's git
        helper uses it).

        git simplifies a commit by comparing it with its parents, leaving out parents it finds
        uninteresting, except those named on its command line (revision.c, relevant_commit).
        So with no `exclude` this is the whole history's answer; and when `exclude` names every
        parent outside what `tips` alone reach (a re-sync's boundary), each commit of that part
        is judged against all its parents, as in the whole history.
        """
        revisions = _revisions(tips, exclude)
        if not revisions:
            return frozenset()
        with self._rev_list(revisions, [], paths) as lines:
            return frozenset(line.strip().decode() for line in lines)

    @contextmanager
    def _rev_list(
        self, revisions: list[str], options: Sequence[str], paths: Sequence[str] = ()
    ) -> Iterator[IO[bytes]]:
        # Revisions go through stdin: a thousand tags would crowd the command line.
        arguments = [*options, "--stdin", *(["--", *paths] if paths else [])]
        with tempfile.TemporaryFile() as stdin:
            stdin.write("\n".join(revisions).encode() + b"\n")
            stdin.seek(0)
            try:
                with process.streaming(
                    ["git", "--git-dir", self.git_dir, "rev-list", *arguments],
                    stdin=stdin,
                    env=_WHOLE_BUFFERS,
                ) as output:
                    yield output
            except GitCommandError as error:
                raise self._failure(error) from None

    def _git(self, *args: str, stdin: BinaryIO | None = None) -> bytes:
        try:
            return process.run(["git", "--git-dir", self.git_dir, *args], stdin=stdin)
        except GitCommandError as error:
            raise self._failure(error) from None

    def _failure(self, error: GitCommandError) -> RepositoryError:
        return RepositoryError(
            f"git cannot read {self.label} ({process.reason(error)}): check the repository with "
            "'git fsck'"
        )


def _not_readable(path: Path, error: GitCommandError) -> RepositoryError:
    """Why git would not open `path`: not a repository, or one git refuses to trust."""
    said = process.reason(error)
    if said.startswith("detected dubious ownership"):
        # Another user's repository, as CI containers check them out: git's reason, and the fix
        # git itself suggests (for the folder it names, which may not be the one given).
        stderr = str(error.stderr)
        fix = next(
            (line.strip() for line in stderr.splitlines() if "--add safe.directory" in line),
            f"git config --global --add safe.directory {path.resolve()}",
        )
        return RepositoryError(f"git refuses {path} ({said}): if you trust it, run '{fix}'")
    return RepositoryError(
        f"{path} is not a git repository: pass a repository's folder, or clone one first"
    )


# Into a pipe, git flushes its output after every commit (GIT_FLUSH unset and stdout not a
# file): a write, and a wake-up of our reader, per commit. Full buffers read a large history
# about a fifth faster (scripts/bench_derive.py).
_WHOLE_BUFFERS = {"GIT_FLUSH": "0"}


def _epoch(field: bytes) -> int | None:
    return int(field) if field.strip() else None


def _revisions(tips: Iterable[str], exclude: Iterable[str]) -> list[str]:
    tip_list = list(tips)
    if not tip_list:
        return []
    return tip_list + [f"^{commit}" for commit in exclude]
