"""The one progress display of long waits (a rollout, `check --wait`): a rich spinner on a terminal,
otherwise a plain line on stderr each time the state changes (or nothing, when `quiet_off_tty`)."""
from __future__ import annotations

from typing import Callable, Optional

import click


class Progress:
    def __init__(self, interactive: bool, echo_err: Optional[Callable[[str], None]] = None,
                 quiet_off_tty: bool = False):
        self.echo_err = echo_err or (lambda line: click.echo(line, err=True))
        self.quiet = quiet_off_tty and not interactive
        self.last: Optional[str] = None
        self.live = None
        if interactive:
            from rich.console import Console
            from rich.status import Status

            self.live = Status("", console=Console(stderr=True))
            self.live.start()

    def update(self, text: str) -> None:
        if text == self.last:
            return
        self.last = text
        if self.live is not None:
            self.live.update(text)
        elif not self.quiet:
            self.echo_err(text)

    def finish(self, text: str) -> None:
        self.close()
        self.echo_err(text)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
