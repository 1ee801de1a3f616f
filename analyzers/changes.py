"""A typed change set (as rope's): `CreateFile`, `ChangeContents`, `MoveFile`, `DeleteFile`, applied as
one transaction.

`ChangeSet.do()` writes every change or none:

1. it takes the tree's write lock (a file under the tree's cache key; a second writer waits a few
   seconds, then gets one line naming the holder);
2. it rolls back what an earlier, killed apply left (its journal);
3. it re-reads every target under the lock and refuses if one changed since the plan was made, is
   read-only, or a new file's target exists;
4. it writes a journal (every target's original bytes and mode), stages every new content beside its
   target, then renames the staged files into place and removes deleted files;
5. on any exception, SIGINT or SIGTERM it undoes what it did (signals blocked meanwhile) and raises one
   `BridgesmithError` line saying so; a SIGKILL leaves the journal, which the next write rolls back.

Contents are text with `\\n` line ends (as `Path.read_text` gives them); the bytes written keep the
target's line ends (a CRLF file stays CRLF, lines outside the edit keep their exact bytes), moved and
cloned files keep their source's mode, new files get the umask's.

>>> root = scratch / "changes"; root.mkdir(); (root / "a.py").write_text("x = 1\\n"), (root / "b.py").write_text("")
(6, 0)
>>> cs = ChangeSet(root, [ChangeContents("a.py", "x = 1\\n", "x = 2\\n"), MoveFile("b.py", "c.py", "", "")])
>>> print(cs.describe(), end="")
--- a/a.py
+++ b/a.py
@@ -1 +1 @@
-x = 1
+x = 2
diff --git a/b.py b/c.py
similarity index 100%
rename from b.py
rename to c.py
>>> applied = cs.do(); sorted(p.name for p in root.iterdir())
['a.py', 'c.py']
>>> cs.undo(); sorted(p.name for p in root.iterdir())
['a.py', 'b.py']
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import errno
import json
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from analyzers.errors import BridgesmithError, PlanConflictError

JOURNAL_FORMAT = 1
#: seconds a second writer waits for the tree's lock before giving up (BRIDGESMITH_LOCK_WAIT overrides)
LOCK_WAIT_S = 10.0
STAGE_PREFIX = ".bridgesmith-"
STAGE_SUFFIX = ".tmp"


class ApplyError(BridgesmithError):
    """An apply failed or was interrupted; what it had done is undone. `exit_code` is the CLI's code."""

    def __init__(self, message: str, path: str | Path | None = None, exit_code: int = 2) -> None:
        super().__init__(message, path)
        self.exit_code = exit_code


class LockedError(BridgesmithError):
    """Another bridgesmith process holds the tree's write lock."""


# --- the changes --------------------------------------------------------------------------------


def _unified(a: str | None, b: str | None, old: str, new: str) -> str:
    lines = list(
        difflib.unified_diff(
            [] if a is None else a.splitlines(keepends=True),
            [] if b is None else b.splitlines(keepends=True),
            old,
            new,
        )
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def check_rel(path: str) -> None:
    """PlanConflictError unless `path` is a relative path inside the tree (no `..`, root, backslash or NUL)."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path or "\0" in path:
        raise PlanConflictError("path escapes the tree", path)


@dataclass(frozen=True)
class CreateFile:
    """A new file; `mode` None means the umask's default (0o666 & ~umask)."""

    path: str  #: POSIX path relative to the change set's root
    contents: str
    reasons: tuple[str, ...] = ()
    mode: int | None = None  #: permission bits (e.g. the cloned source's)
    origin: str = ""  #: the file it is cloned from ("" for a new text, a template's)

    kind = "create"

    def describe(self) -> str:
        return _unified(None, self.contents, "/dev/null", f"b/{self.path}")


@dataclass(frozen=True)
class ChangeContents:
    """An existing file's text replaced: `old` is what the plan read, `new` what it writes."""

    path: str
    old: str
    new: str
    reasons: tuple[str, ...] = ()

    kind = "modify"

    def describe(self) -> str:
        return _unified(self.old, self.new, f"a/{self.path}", f"b/{self.path}")


@dataclass(frozen=True)
class DeleteFile:
    """An existing file removed (`old` is what the plan read, checked before it goes)."""

    path: str
    old: str
    reasons: tuple[str, ...] = ()

    kind = "delete"

    def describe(self) -> str:
        return _unified(self.old, None, f"a/{self.path}", "/dev/null")


@dataclass(frozen=True)
class MoveFile:
    """`src` renamed to `dst`, with `new` as its text there (== `old` for a plain move); keeps the mode."""

    src: str
    dst: str
    old: str
    new: str
    reasons: tuple[str, ...] = ()

    kind = "move"

    @property
    def path(self) -> str:
        return self.src

    def describe(self) -> str:
        """git's rename form: `rename from`/`rename to`, then the hunks of any edit."""
        ratio = difflib.SequenceMatcher(None, self.old, self.new, autojunk=False).quick_ratio()
        similarity = 100 if self.old == self.new else min(99, int(ratio * 100))
        head = (
            f"diff --git a/{self.src} b/{self.dst}\nsimilarity index {similarity}%\n"
            f"rename from {self.src}\nrename to {self.dst}\n"
        )
        return head + _unified(self.old, self.new, f"a/{self.src}", f"b/{self.dst}")


Change = CreateFile | ChangeContents | DeleteFile | MoveFile


@dataclass(frozen=True)
class FileEdit:
    """One path's change: `before` None creates it, `after` None deletes it (a move is both)."""

    path: str  #: POSIX path relative to the plan's root
    before: str | None
    after: str | None
    reasons: tuple[str, ...] = ()
    moved: str | None = None  #: the other end of a move (its source for a create, target for a delete)

    @property
    def kind(self) -> str:
        if self.before is None:
            return "create"
        if self.after is None:
            return "delete"
        return "modify"

    def diff(self) -> str:
        if self.before is None:
            return CreateFile(self.path, self.after or "").describe()
        if self.after is None:
            return DeleteFile(self.path, self.before).describe()
        return ChangeContents(self.path, self.before, self.after).describe()


def file_edits(change: Change) -> list[FileEdit]:
    """The per-path views of `change` (a move is a delete of its source and a create of its target)."""
    if isinstance(change, CreateFile):
        return [FileEdit(change.path, None, change.contents, change.reasons)]
    if isinstance(change, ChangeContents):
        return [FileEdit(change.path, change.old, change.new, change.reasons)]
    if isinstance(change, DeleteFile):
        return [FileEdit(change.path, change.old, None, change.reasons)]
    return [
        FileEdit(change.src, change.old, None, (f"moved to {change.dst}",), moved=change.dst),
        FileEdit(change.dst, None, change.new, change.reasons, moved=change.src),
    ]


def touched_paths(change: Change) -> tuple[str, ...]:
    return (change.src, change.dst) if isinstance(change, MoveFile) else (change.path,)


# --- bytes on disk ------------------------------------------------------------------------------


def normalise(raw: str) -> str:
    """Text as `Path.read_text` gives it (universal newlines)."""
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def keep_line_ends(raw: str, new: str) -> str:
    """`new` (with `\\n` ends) spelt with `raw`'s line ends: unchanged lines keep their exact ends, new
    lines take the file's dominant end.

    >>> keep_line_ends("a\\r\\nb\\r\\nc\\r\\n", "a\\nB\\nc\\n")
    'a\\r\\nB\\r\\nc\\r\\n'
    >>> keep_line_ends("a\\nb\\r\\n", "a\\nb\\nc\\n")
    'a\\nb\\r\\nc\\n'
    """
    if "\r" not in raw:
        return new
    old_raw = raw.split("\n")
    old = [piece.removesuffix("\r") for piece in old_raw]
    if "\r" in "".join(old) or "\r" in new:  # lone CRs: keep it simple, use the dominant end throughout
        return new.replace("\n", "\r\n") if raw.count("\r\n") * 2 > raw.count("\n") else new
    crlf = raw.count("\r\n") * 2 > raw.count("\n")
    pieces = new.split("\n")
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, pieces, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend(old_raw[i1:i2])
        else:
            out.extend(p + "\r" if crlf else p for p in pieces[j1:j2])
    # the last piece has no line end after it
    out[-1] = out[-1].removesuffix("\r")
    return "\n".join(out)


def _read_raw(target: Path) -> bytes | None:
    """The file's bytes; None when absent. Raises PlanConflictError for what is not a readable file."""
    try:
        st = target.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PlanConflictError(f"cannot read: {exc.strerror}", target) from None
    if not stat.S_ISREG(st.st_mode):
        raise PlanConflictError("not a regular file (a link, folder or device)", target)
    try:
        return target.read_bytes()
    except OSError as exc:
        raise PlanConflictError(f"cannot read: {exc.strerror}", target) from None


def _decode(data: bytes, rel: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanConflictError(f"not UTF-8 text (byte {exc.start})", rel) from None


def _encode(text: str, rel: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PlanConflictError(
            f"content cannot be written as UTF-8 ({exc.reason} at {exc.start})", rel
        ) from None


def _umask_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


# --- the lock -----------------------------------------------------------------------------------


def _key_path(root: Path, folder: str, suffix: str) -> Path:
    from analyzers.pickle_store import tree_cache_path

    return tree_cache_path(folder, Path(os.path.realpath(root)), suffix)


def journal_path(root: Path) -> Path:
    return _key_path(root, "journals", ".json")


def lock_path(root: Path) -> Path:
    return _key_path(root, "locks", ".lock")


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "another bridgesmith process"
    except OSError:
        return "another bridgesmith process"


#: lock files this process holds
_held: set[str] = set()


@contextlib.contextmanager
def tree_lock(root: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the tree's write lock (an flock, freed by the kernel when the holder dies, SIGKILL included).

    Waits up to `wait` seconds (default LOCK_WAIT_S or $BRIDGESMITH_LOCK_WAIT), then raises LockedError
    naming the holder.
    """
    import fcntl

    if wait is None:
        try:
            wait = float(os.environ.get("BRIDGESMITH_LOCK_WAIT", LOCK_WAIT_S))
        except ValueError:
            wait = LOCK_WAIT_S
    path = lock_path(root)
    if str(path) in _held:  # this process holds it already (the CLI locks a whole write command)
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise BridgesmithError(f"cannot create the tree's write lock: {exc.strerror}", path) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"the tree is being written by {_holder(path)} (lock {path}); try again when it is done",
                        root,
                    ) from None
                time.sleep(0.05)
        command = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))[:200]
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({command}) since {time.strftime('%H:%M:%S')}\n".encode(), 0)
        _held.add(str(path))
        try:
            yield
        finally:
            _held.discard(str(path))
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


# --- signals ------------------------------------------------------------------------------------


class _Signalled(BaseException):
    """SIGTERM/SIGINT raised in the main thread while an apply runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signal(signum: int, _frame: object) -> None:
    raise _Signalled(signum)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise `_Signalled` (main thread only; elsewhere signals stay as they are)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --- the journal --------------------------------------------------------------------------------


@dataclass
class _Op:
    """One path's write: `data` None removes it. `original` None: the path was absent."""

    path: str
    data: bytes | None
    mode: int | None
    original: bytes | None = None
    original_mode: int | None = None
    stage: str | None = None  #: the staged file beside the target (relative), for writes

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "write": self.data is not None,
            "stage": self.stage,
            "original": None if self.original is None else base64.b64encode(self.original).decode(),
            "original_mode": self.original_mode,
        }


@dataclass
class _Journal:
    root: Path
    ops: list[_Op]
    made_dirs: list[str] = field(default_factory=list)  #: folders the apply creates, parents first
    description: str = ""

    def write(self) -> None:
        path = journal_path(self.root)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "format": JOURNAL_FORMAT,
            "root": str(self.root),
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "description": self.description,
            "made_dirs": self.made_dirs,
            "ops": [op.to_json() for op in self.ops],
        }
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            journal_path(self.root).unlink()


def _restore(root: Path, entries: Sequence[dict], made_dirs: Sequence[str]) -> int:
    """Put every journalled path back as it was; returns how many paths needed it. Idempotent."""
    restored = 0
    for entry in reversed(entries):
        target = root / entry["path"]
        if entry.get("stage"):
            with contextlib.suppress(FileNotFoundError):
                (root / entry["stage"]).unlink()
        original = entry.get("original")
        if original is None:
            try:
                target.unlink()
                restored += 1
            except FileNotFoundError:
                pass
            continue
        data = base64.b64decode(original)
        mode = entry.get("original_mode")
        try:
            same = target.read_bytes() == data and (
                mode is None or stat.S_IMODE(target.stat().st_mode) == mode
            )
        except OSError:
            same = False
        if same:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{STAGE_PREFIX}restore-{target.name}{STAGE_SUFFIX}")
        with open(tmp, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        restored += 1
    for rel in reversed(made_dirs):
        with contextlib.suppress(OSError):
            (root / rel).rmdir()
    return restored


@dataclass(frozen=True)
class Recovery:
    """What `recover` rolled back: an apply that was killed before it finished."""

    paths: int  #: journalled paths
    restored: int  #: paths that were changed and are back as they were
    pid: int | None
    started: str
    description: str

    def message(self, root: Path) -> str:
        what = f" ({self.description})" if self.description else ""
        return (
            f"{root}: rolled back an interrupted apply{what} of pid {self.pid} started {self.started}: "
            f"{self.restored} of {self.paths} paths restored, the tree is as before it"
        )


def _recover_locked(root: Path) -> Recovery | None:
    path = journal_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BridgesmithError(
            f"unreadable journal of an interrupted apply ({exc}); check the tree with git status, then delete it",
            path,
        ) from None
    if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT:
        raise BridgesmithError("journal of an unknown format; check the tree, then delete it", path)
    with _signals_blocked():
        restored = _restore(root, data.get("ops", []), data.get("made_dirs", []))
        path.unlink()
    return Recovery(
        len(data.get("ops", [])),
        restored,
        data.get("pid"),
        str(data.get("started")),
        data.get("description", ""),
    )


def recover(root: Path, *, wait: float | None = None) -> Recovery | None:
    """Roll back an apply that was killed (its journal is left); None when there is none.

    Takes the tree's lock first: a journal of a live writer is never touched.
    """
    root = Path(os.path.realpath(root))
    if not journal_path(root).exists():
        return None
    with tree_lock(root, wait):
        return _recover_locked(root)


# --- the change set -----------------------------------------------------------------------------


@dataclass
class Applied:
    """What a `do()` wrote: per path the bytes it wrote (None: removed) and the original bytes/mode."""

    ops: list[_Op]


class ChangeSet:
    """Typed changes relative to `root`, described as one git-style diff, applied as one transaction."""

    def __init__(self, root: Path | str, changes: Sequence[Change] = (), description: str = "") -> None:
        self.root = Path(root)
        self.changes: list[Change] = list(changes)
        self.description = description
        self.applied: Applied | None = None
        for change in self.changes:
            for rel in touched_paths(change):
                check_rel(rel)

    def add_change(self, change: Change) -> None:
        for rel in touched_paths(change):
            check_rel(rel)
        self.changes.append(change)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def describe(self) -> str:
        """Every change as a unified diff (moves as git renames), sorted by path."""
        return "".join(c.describe() for c in sorted(self.changes, key=lambda c: c.path))

    # --- applying ----------------------------------------------------------------------------------
    def _ops(self) -> list[_Op]:
        """Check the disk against every change (under the lock) and render the bytes to write."""
        ops: list[_Op] = []
        seen: set[str] = set()
        umask_mode = _umask_mode()

        def current(rel: str, expected: str | None) -> tuple[bytes | None, int | None]:
            if rel in seen:
                raise PlanConflictError("two changes touch the same path", rel)
            seen.add(rel)
            target = self.root / rel
            raw = _read_raw(target)
            if expected is None:
                if raw is not None or target.is_symlink():
                    raise PlanConflictError("target already exists", rel)
                return None, None
            if raw is None:
                raise PlanConflictError("file changed since the plan was made (it is gone)", rel)
            if normalise(_decode(raw, rel)) != expected:
                raise PlanConflictError("file changed since the plan was made", rel)
            mode = stat.S_IMODE(target.stat().st_mode)
            if not mode & stat.S_IWUSR or not os.access(target, os.W_OK):
                raise PlanConflictError("read-only file: make it writable or leave it out", rel)
            return raw, mode

        for change in self.changes:
            if isinstance(change, CreateFile):
                current(change.path, None)
                mode = umask_mode if change.mode is None else change.mode
                ops.append(_Op(change.path, _encode(change.contents, change.path), mode, None, None))
            elif isinstance(change, ChangeContents):
                raw, mode = current(change.path, change.old)
                assert raw is not None
                text = keep_line_ends(raw.decode("utf-8"), change.new)
                ops.append(_Op(change.path, _encode(text, change.path), mode, raw, mode))
            elif isinstance(change, DeleteFile):
                raw, mode = current(change.path, change.old)
                ops.append(_Op(change.path, None, None, raw, mode))
            else:
                raw, mode = current(change.src, change.old)
                current(change.dst, None)
                assert raw is not None
                text = keep_line_ends(raw.decode("utf-8"), change.new)
                ops.append(_Op(change.dst, _encode(text, change.dst), mode, None, None))
                ops.append(_Op(change.src, None, None, raw, mode))
        for op in ops:
            parent = (self.root / op.path).parent
            existing = next(p for p in (parent, *parent.parents) if p.exists())
            if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
                raise PlanConflictError("read-only folder: cannot write there", op.path)
        return ops

    def do(self) -> Applied:
        """Apply every change or none (see the module docstring); raises ApplyError after undoing."""
        root = Path(os.path.realpath(self.root))
        with tree_lock(root):
            recovered = _recover_locked(root)
            if recovered is not None:
                print(f"warning: {recovered.message(root)}", file=sys.stderr)
            ops = self._ops()
            _transact(root, ops, self.description)
        self.applied = Applied(ops)
        return self.applied

    def undo(self) -> None:
        """Put back the exact bytes and modes `do()` replaced (refuses if a file changed since)."""
        if self.applied is None:
            raise PlanConflictError("nothing to undo: the change set was not applied", self.root)
        root = Path(os.path.realpath(self.root))
        with tree_lock(root):
            ops: list[_Op] = []
            for op in reversed(self.applied.ops):
                target = root / op.path
                raw = _read_raw(target)
                if raw != op.data:
                    raise PlanConflictError("file changed since the apply; not undone", op.path)
                mode = None if raw is None else stat.S_IMODE(target.stat().st_mode)
                ops.append(_Op(op.path, op.original, op.original_mode, raw, mode))
            _transact(root, ops, f"undo {self.description}".strip())
        self.applied = None


def _stage_name(rel: str, token: str) -> str:
    pure = PurePosixPath(rel)
    return (pure.parent / f"{STAGE_PREFIX}{token}-{pure.name}{STAGE_SUFFIX}").as_posix()


def _transact(root: Path, ops: list[_Op], description: str) -> None:
    """Journal, stage, rename; undo on any BaseException (the caller holds the lock)."""
    token = f"{os.getpid()}-{time.monotonic_ns() % 10**9}"
    made: list[str] = []
    for op in ops:
        if op.data is None:
            continue
        op.stage = _stage_name(op.path, token)
        parent = PurePosixPath(op.path).parent
        missing = [
            p.as_posix()
            for p in (parent, *parent.parents)
            if p.as_posix() not in (".", "") and not (root / p).exists()
        ]
        for p in reversed(missing):
            if p not in made:
                made.append(p)
    journal = _Journal(root, ops, made, description)
    done = 0
    #: the path being written (the journal, a folder, a target staged or renamed): a failure names it
    at: str | None = str(journal_path(root))
    try:
        with _signals_raise():
            journal.write()
            for rel in made:
                at = rel
                os.mkdir(root / rel)
            for op in ops:
                if op.data is not None:
                    at = op.path
                    _stage(root / op.stage, op.data, op.mode)
            for op in ops:
                at = op.path
                target = root / op.path
                if op.data is None:
                    os.unlink(target)
                else:
                    os.replace(root / op.stage, target)
                done += 1
            at = None  # a folder that a delete emptied
            _remove_emptied(root, ops)
            at = str(journal_path(root))
            journal.remove()
    except BaseException as exc:
        with _signals_blocked():
            _restore(root, [op.to_json() for op in ops], made)
            journal.remove()
        raise _failure(exc, done, len(ops), at) from None


def _stage(path: Path, data: bytes, mode: int | None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if mode is not None:
            os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_emptied(root: Path, ops: list[_Op]) -> None:
    for op in ops:
        if op.data is not None:
            continue
        current = (root / op.path).parent
        while current != root and current.is_dir() and not any(current.iterdir()):
            current.rmdir()
            current = current.parent


def _failure(exc: BaseException, done: int, total: int, at: str | None) -> ApplyError:
    """The one error of a failed apply: what was undone, and the path being written (`at`) when known; a
    signal names none (it is no path's failure)."""
    undone = f"rolled back {done} of {total} file operations, the tree is as before"
    if isinstance(exc, _Signalled):
        name = signal.Signals(exc.signum).name
        return ApplyError(f"interrupted by {name} during the apply: {undone}", None, 128 + exc.signum)
    if isinstance(exc, KeyboardInterrupt):
        return ApplyError(f"interrupted by SIGINT during the apply: {undone}", None, 130)
    if isinstance(exc, OSError):
        return ApplyError(f"write failed ({exc.strerror or exc}): {undone}", at)
    # any other failure (a bug, MemoryError, ...) names the path as a write failure does
    return ApplyError(f"apply failed ({type(exc).__name__}: {exc}): {undone}", at)
