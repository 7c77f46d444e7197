"""Reading and writing the files users name on the command line, with one-line errors that say what to do."""
from __future__ import annotations

import sys

from .errors import UsageError


def read_text(path: str, *, what: str = "", fix: str = "") -> str:
    """The text of `path` (`-`: stdin). `what` names the file in errors (e.g. "snapshot"), `fix` says
    what to pass instead."""
    label = f"{what} {path}" if what else path
    tail = f"; {fix}" if fix else ""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except IsADirectoryError:
        raise UsageError(f"cannot read {label}: it is a directory{tail}") from None
    except UnicodeDecodeError:
        raise UsageError(f"cannot read {label}: it is not UTF-8 text{tail}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror or exc}{tail}") from None


def write_text(path: str, text: str, *, what: str = "") -> None:
    label = f"{what} {path}" if what else path
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except IsADirectoryError:
        raise UsageError(f"cannot write {label}: it is a directory; name a file") from None
    except OSError as exc:
        raise UsageError(f"cannot write {label}: {exc.strerror or exc}; name a file in an existing, "
                         f"writable directory") from None
