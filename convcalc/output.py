"""The one writer of output files: a finished document goes to its file atomically (all of it or,
on any failure, nothing), and never over an input, a link or a device node."""

import contextlib
import errno
import os
import signal
import stat
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from convcalc.errors import ConvcalcError


@dataclass
class _Deferred:
    """An active ``deferred()`` block: the files its command read, the temporary files staged
    for its regular outputs (with the file each replaces) and its writes to devices or pipes."""

    read: Sequence[tuple[str, os.stat_result]]
    staged: list[tuple[str, Path]] = field(default_factory=list)
    through: list[tuple[Path, bytes]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)  # made by make_folder, outermost first


_blocks: list[_Deferred] = []  # innermost last
# Temporary files not yet renamed; a SIGINT or SIGTERM removes them before the process ends.
_temporaries: set[str] = set()


def write_atomically(path: str | Path, data: str | bytes, *,
                     inputs: Iterable[str | Path] = ()) -> None:
    """Write ``data`` (text as UTF-8) to ``path``.

    A regular file (new or replaced) is written through a temporary file in the same folder,
    flushed to disk, then renamed over the target, so readers see the old file or the new one,
    never a part; on failure, and on SIGINT or SIGTERM, the temporary file is removed and an
    existing file is left as it was. A replaced file keeps its permissions. A symbolic link is
    followed: the file it names is replaced and the link stays. A character device or a pipe
    (``/dev/null``, ``/dev/stdout``, a FIFO with a reader) is written to directly, never
    replaced by a file. ``path`` naming one of ``inputs`` (the files the document was made
    from, compared as files, so links and other spellings count), or any file read inside the
    active ``deferred()`` block, is refused, since writing it would destroy the input.

    Inside ``deferred()`` the temporary file is written now and renamed (a device or pipe
    written) when the block ends without an exception, so a command that fails leaves no
    file."""
    if not str(path):  # Path("") would be "."
        raise ConvcalcError("cannot write to an empty file name")
    path = Path(path)
    content = data.encode("utf-8") if isinstance(data, str) else data
    plan = _plan(path, inputs)
    if not _blocks:
        with _removed_on_signal():
            if plan is None:
                _write_through(path, content)
            else:
                _rename([_staged(path, content, *plan)])
        return
    block = _blocks[-1]
    if plan is None:
        block.through.append((path, content))
    elif any(target == plan[0] for _, target in block.staged):
        raise ConvcalcError(f"cannot write '{path}' twice in one command; choose another "
                            "output file")
    else:
        block.staged.append(_staged(path, content, *plan))


@contextlib.contextmanager
def deferred(read: Sequence[tuple[str, os.stat_result]] = ()) -> Iterator[None]:
    """Within the block, ``write_atomically`` checks each output and stages it in a temporary
    file; they are all put in place when the block ends without an exception, and all removed
    otherwise (SIGINT and SIGTERM included). ``read`` holds the files the block reads
    (``inputs.recording()``'s list of names and stats, which may grow): no output may replace
    one of them."""
    block = _Deferred(read)
    with _removed_on_signal():
        _blocks.append(block)
        try:
            yield
        except BaseException:
            _rename([(temporary, None) for temporary, _ in block.staged])
            for folder in reversed(block.folders):
                with contextlib.suppress(OSError):  # kept if something else was put in it
                    folder.rmdir()
            raise
        finally:
            _blocks.pop()
        _rename(block.staged)
    for path, content in block.through:
        _write_through(path, content)


def make_folder(path: str | Path) -> Path:
    """``path`` as a folder, made with its parents where missing (a ConvcalcError if it
    cannot be). Inside ``deferred()``, the folders made are removed again, if still empty,
    when the block fails."""
    folder = Path(path)
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConvcalcError(f"cannot make '{folder}': {e.strerror or e}") from None
    if _blocks:
        _blocks[-1].folders.extend(reversed(missing))
    return folder


def _plan(path: Path, inputs: Iterable[str | Path]) -> tuple[Path, int] | None:
    """The regular file a write to ``path`` makes or replaces and the mode it gets, or None
    for a device or pipe written in place; a ConvcalcError for an output it may not write."""
    try:
        existing = os.stat(path)  # through links: what a write would reach
    except FileNotFoundError:
        existing = None  # a new file, or a link to one
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    # The file a link names, so the rename replaces that file and not the link.
    target = Path(os.path.realpath(path))
    if existing is None:  # a new file gets the usual 0666 less umask
        try:  # 'new/..' names a folder through one that does not exist, as open() says
            os.stat(path.parent)
        except OSError as e:
            raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
        umask = os.umask(0)
        os.umask(umask)
        return target, 0o666 & ~umask
    _refuse_inputs(path, existing, inputs)
    if stat.S_ISDIR(existing.st_mode):
        raise ConvcalcError(f"cannot write '{path}': it is a directory")
    if stat.S_ISCHR(existing.st_mode) or stat.S_ISFIFO(existing.st_mode):
        return None
    if not stat.S_ISREG(existing.st_mode):
        raise ConvcalcError(f"cannot write '{path}': it is neither a file, a character "
                            "device nor a pipe")
    return target, stat.S_IMODE(existing.st_mode)


def _staged(path: Path, data: bytes, target: Path, mode: int) -> tuple[str, Path]:
    """A temporary file beside ``target`` holding ``data``, flushed to disk, and ``target``."""
    import tempfile  # here: it imports random and shutil, which most commands never need

    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".tmp",
                                         dir=target.parent)
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    _temporaries.add(temporary)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
    except BaseException as e:
        _rename([(temporary, None)])
        if isinstance(e, OSError):
            raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
        raise
    return temporary, target


def _rename(staged: Sequence[tuple[str, Path | None]]) -> None:
    """Rename each temporary file over its target; one without a target (or every one left
    after a rename fails) is removed."""
    try:
        for temporary, target in staged:
            if target is not None:
                try:
                    os.replace(temporary, target)
                except OSError as e:
                    raise ConvcalcError(f"cannot write '{target}': {e.strerror or e}"
                                        ) from None
                _temporaries.discard(temporary)
    finally:
        for temporary, _ in staged:
            if temporary in _temporaries:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
                _temporaries.discard(temporary)


@contextlib.contextmanager
def _removed_on_signal() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM first remove the temporary files, then do what
    they did before (end the process, raise KeyboardInterrupt). Handlers can be set only in
    the main thread; elsewhere the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def remove_then_resume(signum: int, frame: FrameType | None) -> None:
        for temporary in list(_temporaries):
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        _temporaries.clear()
        before = previous[signum]
        signal.signal(signum, before)
        if callable(before):
            before(signum, frame)
        else:  # SIG_DFL: the signal again, now ending the process as it would have
            os.kill(os.getpid(), signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        before = signal.getsignal(signum)
        if before not in (signal.SIG_IGN, None):
            previous[signum] = before
            signal.signal(signum, remove_then_resume)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _refuse_inputs(path: Path, existing: os.stat_result, inputs: Iterable[str | Path]) -> None:
    read = list(_blocks[-1].read if _blocks else ())
    for source in inputs:
        try:
            read.append((str(source), os.stat(source)))
        except OSError:  # an input that is not a file (a built-in name) cannot be overwritten
            continue
    for name, identity in read:
        if os.path.samestat(existing, identity):
            raise ConvcalcError(f"cannot write '{path}': it is the input '{name}'; choose "
                                "another output file")


def _write_through(path: Path, data: bytes) -> None:
    """Write to a device or pipe in place. Opened non-blocking, so a FIFO nobody reads is an
    error (ENXIO) instead of a wait; the writes themselves block as usual."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "wb") as f:
            os.set_blocking(fd, True)
            f.write(data)
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise ConvcalcError(f"cannot write '{path}': no process is reading the pipe"
                                ) from None
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
