"""The one reader of input bytes: every file convcalc reads (architectures, matrices, device
profiles, CSVs, ONNX models) comes through ``open_input`` or ``read_input``.

Only regular files are read. A device reports size 0 (``/dev/zero`` would fill memory) and a FIFO
blocks forever, so anything else is refused; the file is opened non-blocking (a FIFO swapped in
after the check does not hang the open) and checked again on the open descriptor, and at most
``limit + 1`` bytes are read, so a file that grows, or lies about its size as ``/proc`` files do,
is still refused at the limit.
"""

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from convcalc.errors import ConvcalcError


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


# The files read inside each active ``recording()`` block (the CLI records each command's),
# innermost last.
_recordings: list[list[tuple[str, os.stat_result]]] = []


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[str, os.stat_result]]]:
    """Within the block, every file ``open_input`` opens is added to the list it gives, as its
    name and ``os.stat_result`` (device and inode), so that a command's outputs can be checked
    against every file it read, however it was named (a scale ``net.yaml:b0``, a device
    profile, a network a CSV lists)."""
    _recordings.append([])
    try:
        yield _recordings[-1]
    finally:
        _recordings.pop()


def open_input(path: str | Path, *, shown: str | None = None) -> BinaryIO:
    """``path`` opened for binary reading, after checking it is a regular file.

    ``shown`` is the name errors print (default: ``path``). Raises ConvcalcError with
    ``file=shown`` for a missing, unreadable or non-regular file. The caller bounds how much it
    reads (or uses ``read_input``, which does)."""
    name = str(path) if shown is None else shown
    try:
        kind = _kind(os.stat(path).st_mode)
        if kind is None:
            # O_NONBLOCK: if a FIFO was put in the file's place since the stat, opening it for
            # reading returns at once instead of waiting for a writer; the fstat below refuses it.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            try:
                opened = os.fstat(fd)
            except OSError:
                os.close(fd)
                raise
            kind = _kind(opened.st_mode)
            if kind is None:
                if _recordings:
                    _recordings[-1].append((name, opened))
                return os.fdopen(fd, "rb")
            os.close(fd)
    except OSError as e:
        raise ConvcalcError(f"cannot read: {e.strerror or e}", file=name) from None
    raise ConvcalcError(f"is {kind}; convcalc reads only regular files", file=name)


def read_input(path: str | Path, limit: int, what: str, *, shown: str | None = None,
               hint: str = "") -> bytes:
    """The bytes of the regular file ``path``, refused (ConvcalcError) beyond ``limit`` bytes.

    ``what`` names the files the limit is for, in the plural ("architecture files", "text
    matrices"), for the message ``is 6,291,456 bytes; architecture files are limited to
    5,242,880``, followed by ``; {hint}`` when a hint is given. Reads at most ``limit + 1``
    bytes whatever size the file reports."""
    name = str(path) if shown is None else shown
    with open_input(path, shown=name) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise ConvcalcError(f"is {size:,} bytes; {what} are limited to {limit:,}"
                                    + (f"; {hint}" if hint else ""), file=name)
            data = f.read(limit + 1)
        except OSError as e:
            raise ConvcalcError(f"cannot read: {e.strerror or e}", file=name) from None
    if len(data) > limit:
        raise ConvcalcError(f"has more than {limit:,} bytes; {what} are limited to {limit:,}"
                            + (f"; {hint}" if hint else ""), file=name)
    return data
