"""Output paths: checked before a run, written so that nothing is ever half-written.

* :func:`check_outputs` finds every problem with ``--out``/``--trace`` *before* simulating (an
  existing file, a folder that holds something else, a read-only or unwritable place, a parent that
  is a file, a name the filesystem refuses, ``--trace`` over the scenario file, the two flags
  colliding) and raises :class:`OutputPathError`, which the CLI prints as one ``error:`` line.
* :func:`atomic_folder` writes a result folder into a hidden staging folder beside the target (same
  filesystem), fsyncs it and renames it into place, so the folder holds one complete run or none,
  never files of two runs. With ``force`` an existing run folder is replaced in one step: Linux
  ``renameat2(RENAME_EXCHANGE)`` swaps the two folders atomically, and the old run is then removed;
  where that call is missing (other systems, old kernels, some filesystems) the old folder is first
  renamed aside, then the new one into place (a crash between the two renames leaves no folder at
  the target and the old run in a hidden ``.NAME.old-*`` folder beside it, never a mixture).
* :func:`partial_file` streams a file (the trace) into ``FILE.partial`` and renames it to ``FILE``
  only when the block ends normally: a crashed or killed run leaves only the ``.partial`` marker.

A run killed while it writes its folder can leave a hidden ``.NAME.staging-*`` folder beside the
target; the target itself is untouched.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from snatsim.errors import ConfigError

__all__ = [
    "PARTIAL_SUFFIX",
    "RUN_MARKER",
    "OutputPathError",
    "atomic_folder",
    "atomic_write_bytes",
    "check_file_target",
    "check_new_file",
    "check_out_dir",
    "check_outputs",
    "check_trace_file",
    "partial_file",
    "write_folder",
]

PARTIAL_SUFFIX = ".partial"
RUN_MARKER = "summary.json"
"""A folder holding this file was written by snatsim; only such a folder is replaced with force."""
_RENAME_EXCHANGE = 2  # <linux/fs.h>
_AT_FDCWD = -100


class OutputPathError(ConfigError):
    """An output path that cannot be written as asked (the message names the flag and the fix)."""


def _force_hint(flag: str) -> str:
    return "--force" if flag.startswith("--") else "force=True"


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _check_name(path: Path, flag: str, suffix: str = "") -> None:
    """Refuse what no filesystem call could create: NUL bytes, over-long names and paths."""
    text = str(path)
    if "\x00" in text:
        raise OutputPathError(flag, f"{text!r} contains a NUL byte; choose a plain file name")
    if not path.name or path.name in (".", ".."):
        raise OutputPathError(flag, f"{text!r} names no file; give a path ending in a name")
    name_max, path_max = 255, 4096
    anchor = _existing_ancestor(path.parent, flag)
    try:
        name_max = os.pathconf(anchor, "PC_NAME_MAX")
        path_max = os.pathconf(anchor, "PC_PATH_MAX")
    except (OSError, ValueError):  # pragma: no cover - pathconf missing: keep the Linux limits
        pass
    for part in (*path.parts[1:-1], path.name + suffix):
        if len(os.fsencode(part)) > name_max:
            raise OutputPathError(
                flag, f"the name {part[:40]!r}… is {len(os.fsencode(part))} bytes, longer than "
                f"the {name_max} the filesystem allows; choose a shorter name"
            )
    if len(os.fsencode(text + suffix)) >= path_max:
        raise OutputPathError(
            flag, f"the path is longer than the {path_max} bytes the system allows; "
            "choose a shorter path"
        )


def _existing_ancestor(folder: Path, flag: str) -> Path:
    """The nearest folder at or above ``folder`` that exists (an error if it is a file)."""
    current = folder
    while True:
        try:
            if current.is_dir():
                return current
            exists = current.exists()
        except OSError:  # an over-long name: _check_name reports it
            exists = False
        if exists:
            raise OutputPathError(
                flag, f"{str(current)!r} is a file, so nothing can be created under it; "
                "choose a path in a folder"
            )
        if current.parent == current:
            return current
        current = current.parent


def _probe(folder: Path, first_missing: str | None, flag: str) -> None:
    """Create and remove a folder where the output will go: the filesystem's own answer to
    read-only mounts, permissions (root included) and names it refuses."""
    try:
        if first_missing is not None:
            probe = folder / first_missing
            os.mkdir(probe)
            os.rmdir(probe)
        else:
            os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".snatsim-probe-"))
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.EILSEQ) and first_missing is not None:
            raise OutputPathError(
                flag, f"the filesystem of {str(folder)!r} refuses the name {first_missing!r}; "
                "choose another name"
            ) from None
        reason = {
            errno.EROFS: "it is on a read-only filesystem",
            errno.EACCES: "permission denied",
            errno.EPERM: "the system does not allow it",
        }.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
        raise OutputPathError(
            flag, f"cannot write in {str(folder)!r}: {reason}; choose a writable place"
        ) from None


def _check_writable_parent(path: Path, flag: str) -> None:
    """The parent of ``path`` exists as a writable folder, or can be created."""
    anchor = _existing_ancestor(path.parent, flag)
    missing = path.parent.relative_to(anchor).parts if anchor != path.parent else ()
    _probe(anchor, missing[0] if missing else None, flag)


def check_new_file(path: str | Path, flag: str, *, existing: bool = False) -> Path:
    """Check a file to be created (or, with ``existing``, updated in place, such as a sweep's
    SQLite file with its ``-wal``/``-shm`` files beside it) before any work; return it absolute.

    Raises :class:`OutputPathError` for a name the filesystem refuses, a parent that is a file,
    or a place that cannot be written (read-only filesystem, permissions).
    """
    target = _absolute(Path(path))
    _check_name(target, flag, "-wal")
    _check_writable_parent(target, flag)
    if existing and not os.access(target, os.W_OK):
        raise OutputPathError(flag, f"cannot write {str(path)!r}: permission denied; choose a "
                              "writable file")
    return target


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run snatsim wrote (its :data:`RUN_MARKER`)."""
    return (folder / RUN_MARKER).is_file()


def check_out_dir(out: str | Path, *, force: bool, flag: str = "--out") -> Path:
    """Check a result folder before a run; return it as an absolute path.

    Raises
    ------
    OutputPathError
        ``out`` is a file; a non-empty folder without ``force``; a folder that does not hold a
        snatsim run (never replaced, even with ``force``); in a place that cannot be written; or a
        name the filesystem refuses.
    """
    path = _absolute(Path(out))
    _check_name(path, flag)
    if path.is_symlink():  # write the folder it points to, not over the link
        path = path.resolve()
    if path.exists() and not path.is_dir():
        raise OutputPathError(
            flag, f"{str(out)!r} is a file, not a folder; results are a folder of files: "
            "choose a folder path"
        )
    if path.is_dir() and any(path.iterdir()):
        if not is_run_folder(path):
            raise OutputPathError(
                flag, f"{str(out)!r} holds files snatsim did not write; it is never replaced, "
                "even with --force: choose a new folder"
            )
        if not force:
            raise OutputPathError(
                flag, f"{str(out)!r} already holds a run; pass {_force_hint(flag)} to replace it "
                "or choose a new folder"
            )
    _check_writable_parent(path, flag)
    return path


def check_trace_file(
    trace: str | Path, *, force: bool, config: str | Path | None = None, flag: str = "--trace"
) -> Path:
    """Check a trace file before a run; return it as an absolute path.

    The scenario file is never overwritten, even with ``force``.
    """
    path = _absolute(Path(trace))
    _check_name(path, flag, PARTIAL_SUFFIX)
    if config is not None and path.resolve() == _absolute(Path(config)).resolve():
        raise OutputPathError(
            flag, f"{str(trace)!r} is the scenario file being run; write the trace to another "
            "file, e.g. trace.jsonl"
        )
    _check_replaceable_file(path, str(trace), force=force, flag=flag, example="trace.jsonl",
                            when="the trace replaces its file when the run ends")
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    if partial.is_dir():
        raise OutputPathError(flag, f"{str(partial)!r} is a folder; remove it or choose a new file")
    _check_writable_parent(path, flag)
    return path


def _check_replaceable_file(
    path: Path, given: str, *, force: bool, flag: str, example: str, when: str
) -> None:
    """``path`` is no folder and no device, and exists only when ``force`` allows replacing it."""
    if path.is_dir():
        raise OutputPathError(
            flag, f"{given!r} is a folder; give a file path such as {str(Path(given) / example)!r}"
        )
    if path.exists() and not path.is_file():
        raise OutputPathError(
            flag, f"{given!r} is not a regular file (a device, pipe or socket), and {when}; "
            "choose a file path"
        )
    if path.exists() and not force:
        raise OutputPathError(
            flag, f"{given!r} exists; pass {_force_hint(flag)} to replace it or choose a new file"
        )


def check_file_target(
    target: str | Path, *, force: bool, flag: str, example: str, when: str
) -> Path:
    """Check a file a command will write (a figure), before anything is drawn; return it absolute.

    The same problems as :func:`check_trace_file` (a folder, a device, an existing file without
    ``force``, an unwritable place, a name the filesystem refuses) raise :class:`OutputPathError`;
    ``example`` is a file name to suggest under a folder, ``when`` says when the file is replaced.
    """
    path = _absolute(Path(target))
    _check_name(path, flag)
    _check_replaceable_file(path, str(target), force=force, flag=flag, example=example, when=when)
    _check_writable_parent(path, flag)
    return path


def check_outputs(
    out: Path | None, trace: Path | None, *, force: bool, config: Path | None = None
) -> None:
    """Every check of ``snatsim run``'s output paths, before anything is simulated or created."""
    out_path = check_out_dir(out, force=force) if out is not None else None
    trace_path = check_trace_file(trace, force=force, config=config) if trace is not None else None
    if out_path is None or trace_path is None:
        return
    out_path, trace_path = out_path.resolve(), trace_path.resolve()
    if trace_path == out_path or trace_path.is_relative_to(out_path):
        raise OutputPathError(
            "--trace", "is inside the --out folder, which is written as a whole; put the trace "
            f"beside it, e.g. --trace {str(out) + '.jsonl'!r}"
        )
    if out_path.is_relative_to(trace_path):
        raise OutputPathError(
            "--out", "would be created under the --trace file's path; choose separate paths"
        )


# ---------------------------------------------------------------------------------- writing
def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            _fsync_path(Path(root) / name)
        _fsync_path(Path(root))


def _new_hidden_folder(parent: Path, name: str, kind: str) -> Path:
    """Create ``parent/.NAME.KIND-XXXXXXXX`` (a fresh name; mode from the umask, as mkdir)."""
    for _ in range(100):
        folder = parent / f".{name[:64]}.{kind}-{secrets.token_hex(4)}"
        try:
            folder.mkdir()
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        return folder
    raise FileExistsError(errno.EEXIST, "no free name for a hidden folder", str(parent))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False if unavailable."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _commit(staging: Path, target: Path) -> None:
    """Move the complete staging folder to ``target`` in one step (see the module docstring)."""
    if not (target.is_dir() and any(target.iterdir())):
        os.rename(staging, target)  # atomic; replaces an empty folder
    elif _exchange(staging, target):
        shutil.rmtree(staging)  # now holds the old run
    else:
        aside = _new_hidden_folder(target.parent, target.name, "old")
        os.rename(target, aside / "run")
        os.rename(staging, target)
        shutil.rmtree(aside)
    _fsync_path(target.parent)


@contextmanager
def atomic_folder(
    target: str | Path, *, force: bool = False, flag: str = "out_dir"
) -> Iterator[Path]:
    """Yield an empty staging folder; on a normal exit it becomes ``target`` in one rename.

    Raises :class:`OutputPathError` (before anything is created) for the problems
    :func:`check_out_dir` lists. On an exception the staging folder is removed and ``target`` is
    untouched.
    """
    path = check_out_dir(target, force=force, flag=flag)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = _new_hidden_folder(path.parent, path.name, "staging")
    try:
        yield staging
        _fsync_tree(staging)
        _commit(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_folder(target: str | Path, files: dict[str, str], *, force: bool = False) -> list[Path]:
    """Write ``files`` (relative name -> UTF-8 text; names may hold sub-folders) as the folder
    ``target`` through :func:`atomic_folder`, and return the paths they will have there."""
    with atomic_folder(target, force=force) as staging:
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text, encoding="utf-8")
    return [Path(target) / name for name in files]


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` as the file ``target`` in one rename: into a hidden temporary file beside it
    (created with its missing parent folders; mode from the umask), fsynced, then renamed over
    ``target``. A crash leaves ``target`` as it was (at worst a hidden ``.NAME.tmp-*`` beside it)."""
    final = _absolute(Path(target))
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name[:64]}.tmp-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_path(final.parent)
    return final


@contextmanager
def partial_file(path: str | Path) -> Iterator[IO[str]]:
    """Open ``PATH.partial`` for writing; rename it to ``path`` when the block ends normally.

    On an exception (or if the process is killed) only ``PATH.partial`` remains: the marker of a
    run that did not finish. An existing ``path`` is replaced only at the end.
    """
    final = _absolute(Path(path))
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    with open(partial, "w", encoding="utf-8") as stream:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, final)
    _fsync_path(final.parent)
