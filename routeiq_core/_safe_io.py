"""Reading and writing files that users hand RouteIQ, safely.

* :func:`read_regular_bytes` reads a **regular file only**, with a size limit: a FIFO, a
  device (``/dev/zero``) or a directory is refused at once, without blocking (the file is
  opened non-blocking and checked with ``fstat`` on the open descriptor, so a file swapped
  in between cannot slip through), and a file larger than the limit is refused before it
  is read.
* :func:`atomic_write` writes through a temporary file in the target directory and
  renames it into place, and refuses to write through a symbolic link.
"""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

from .errors import RouteIQError

__all__ = ["MAX_TEXT_FILE_BYTES", "as_path", "atomic_write", "check_regular_file", "read_regular_bytes"]

#: Largest JSON/YAML file RouteIQ reads (candidates, configs, manifests, messages).
MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def as_path(value: object, what: str, error: type[RouteIQError]) -> Path:
    """``value`` as a Path: a str or os.PathLike, not empty (``error`` otherwise)."""
    if isinstance(value, (str, os.PathLike)) and str(value):
        return Path(value)
    raise error(f"{what}: expected a file or directory path, got {type(value).__name__}")


def read_regular_bytes(path: str | os.PathLike[str], what: str, error: type[RouteIQError], *,
                       limit: int = MAX_TEXT_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``); anything else raises ``error``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"cannot read {what} {path}: not a regular file (a directory, FIFO or device); pass a file")
        if info.st_size > limit:
            raise error(f"{what} {path} is {_mib(info.st_size)}, more than the {_mib(limit)} RouteIQ reads")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # the file grew while being read
                raise error(f"{what} {path} is larger than the {_mib(limit)} RouteIQ reads")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)


def check_regular_file(path: Path, root: Path, what: str, error: type[RouteIQError]) -> Path:
    """``path`` if it is a regular file inside ``root`` (a symlink may point only within ``root``)."""
    try:
        resolved = path.resolve(strict=True)
        inside = resolved.is_relative_to(root.resolve(strict=True))
        regular = stat.S_ISREG(resolved.stat().st_mode)
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}") from None
    if not inside:
        raise error(f"{what} {path} is a link to {resolved}, outside {root}; artifacts are self-contained")
    if not regular:
        raise error(f"{what} {path} is not a regular file (a directory, FIFO or device)")
    return resolved


def atomic_write(path: str | os.PathLike[str], data: bytes, what: str, error: type[RouteIQError]) -> Path:
    """Write ``data`` to ``path`` via a temporary file in its directory and a rename.

    Refuses when ``path`` is a symbolic link (writing through it would overwrite its target).
    """
    target = Path(path)
    if target.is_symlink():
        raise error(f"refusing to write {what} {target}: it is a symbolic link (to {os.readlink(target)}); "
                    "remove it or choose another output directory")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        raise error(f"cannot write {what} {target}: {exc.strerror or type(exc).__name__}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target
