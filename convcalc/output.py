"""Writing a finished document to a file atomically: all of it or, on any failure, nothing."""

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from convcalc.errors import ConvcalcError


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file in the same folder,
    flushed to disk, then renamed over the target, so readers see the old file or the new one,
    never a part.
    On failure the temporary file is removed and an existing file is left as it was."""
    path = Path(path)
    if path.is_dir():
        raise ConvcalcError(f"cannot write '{path}': it is a directory")
    try:
        # A replaced file keeps its permissions; a new one gets the usual 0666 less umask.
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    replaced = False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
        os.replace(temporary, path)
        replaced = True
    except OSError as e:
        raise ConvcalcError(f"cannot write '{path}': {e.strerror or e}") from None
    finally:
        if not replaced:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
