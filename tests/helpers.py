"""Run the CLI in-process, the way a user runs it, and capture what it prints."""
from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Optional


def examples(count: int) -> int:
    """A property test's number of examples: `count` in the suite, scaled up by `make fuzz`
    (HYPOTHESIS_EXAMPLES_SCALE)."""
    import os

    return max(1, int(count * float(os.environ.get("HYPOTHESIS_EXAMPLES_SCALE", "1"))))


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class _Stdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def run_cli(*args: str, input: Optional[str] = None) -> Result:
    """`kubectl linkerd-otel ARGS...` in this process. Stdout/stderr are not terminals."""
    import sys

    from kubectl_linkerd_otel.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = _Stdin(input or "")
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = saved_stdin
    return Result(code, out.getvalue(), err.getvalue())


def snapshot_text(path) -> str:
    """A saved snapshot file's text (the file is gzip-compressed JSON)."""
    import gzip

    with open(path, "rb") as handle:
        return gzip.decompress(handle.read()).decode("utf-8")
