"""The one writer of output files: a finished document goes to its file atomically (all of it or,
on any failure, nothing), and never over an input, a link or a device node."""

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from convcalc.errors import ConvcalcError


def write_atomically(path: str | Path, data: str | bytes, *,
                     inputs: Iterable[str | Path] = ()) -> None:
    """Write ``data`` (text as UTF-8) to ``path``.

    A regular file (new or replaced) is written through a temporary file in the same folder,
    flushed to disk, then renamed over the target, so readers see the old file or the new one,
    never a part; on failure the temporary file is removed and an existing file is left as it
    was. A replaced file keeps its permissions. A symbolic link is followed: the file it names is
    replaced and the link stays. A character device or a pipe (``/dev/null``, ``/dev/stdout``,
    a FIFO with a reader) is written to directly, never replaced by a file. ``path`` naming one
    of ``inputs`` (the files the document was made from, compared as files, so links and other
    spellings count) is refused, since writing it would destroy the input."""
    path = Path(path)
    try:
        existing = os.stat(path)  # through links: what a write would reach
    except FileNotFoundError:
        existing = None  # a new file, or a link to one
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    if existing is not None:
        _refuse_inputs(path, existing, inputs)
        if stat.S_ISDIR(existing.st_mode):
            raise ConvcalcError(f"cannot write '{path}': it is a directory")
        if stat.S_ISCHR(existing.st_mode) or stat.S_ISFIFO(existing.st_mode):
            _write_through(path, data)
            return
        if not stat.S_ISREG(existing.st_mode):
            raise ConvcalcError(f"cannot write '{path}': it is neither a file, a character "
                                "device nor a pipe")
    # The file a link names, so the rename replaces that file and not the link.
    target = Path(os.path.realpath(path))
    if existing is not None:
        mode = stat.S_IMODE(existing.st_mode)
    else:  # a new file gets the usual 0666 less umask
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".tmp",
                                         dir=target.parent)
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    replaced = False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
        os.replace(temporary, target)
        replaced = True
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    finally:
        if not replaced:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def _refuse_inputs(path: Path, existing: os.stat_result, inputs: Iterable[str | Path]) -> None:
    for source in inputs:
        try:
            same = os.path.samestat(existing, os.stat(source))
        except OSError:  # an input that is not a file (a built-in name) cannot be overwritten
            continue
        if same:
            raise ConvcalcError(f"cannot write '{path}': it is the input '{source}'; choose "
                                "another output file")


def _write_through(path: Path, data: str | bytes) -> None:
    """Write to a device or pipe in place. Opened non-blocking, so a FIFO nobody reads is an
    error (ENXIO) instead of a wait; the writes themselves block as usual."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "wb") as f:
            os.set_blocking(fd, True)
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise ConvcalcError(f"cannot write '{path}': no process is reading the pipe"
                                ) from None
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
