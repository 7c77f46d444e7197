"""The one progress display of long waits (reading the cluster, `check --wait`, a rollout, `stat`'s two
reads): on a terminal a spinner line on stderr saying what is waited for and for how long, redrawn in
place and erased when done; otherwise a plain line on stderr each time the state changes (or nothing,
when `quiet_off_tty`).

A text may hold `{elapsed}` (the seconds since the display started, as `12s`), or be a function giving
the text, asked at each redraw. Colour only for the spinner frame, never when NO_COLOR or --no-color.
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from typing import Callable, Optional, Union

import click

from .environment import environment

Text = Union[str, Callable[[], str]]
FRAMES = "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f"
REDRAW_EVERY = 0.1


def terminal_display() -> Optional["Progress"]:
    """The display a long read shows its progress on (source/reading.py): a spinner on a terminal; off
    one, none (as kubectl: there stderr carries errors only)."""
    return Progress(True) if environment().stderr_isatty else None


def elapsed_text(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    def __init__(self, interactive: bool, echo_err: Optional[Callable[[str], None]] = None,
                 quiet_off_tty: bool = False, color: Optional[bool] = None):
        self.echo_err = echo_err or (lambda line: click.echo(line, err=True))
        self.quiet = quiet_off_tty and not interactive
        self.color = not os.environ.get("NO_COLOR") if color is None else color
        self.started = time.monotonic()
        self.last: Optional[Text] = None
        self._text: Text = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._drawn = 0
        self._stream = sys.stderr
        self._thread: Optional[threading.Thread] = None
        if interactive:
            self._thread = threading.Thread(target=self._spin, name="progress", daemon=True)
            self._thread.start()

    def text(self, text: Optional[Text] = None) -> str:
        text = self._text if text is None else text
        shown = text() if callable(text) else text
        return shown.replace("{elapsed}", elapsed_text(time.monotonic() - self.started))

    def update(self, text: Text) -> None:
        if text == self.last:
            return
        self.last = text
        with self._lock:
            self._text = text
        if self._thread is None and not self.quiet:
            self.echo_err(self.text(text))

    def _spin(self) -> None:
        frame = 0
        while not self._stop.is_set():
            with self._lock:
                if self._text:
                    self._draw(FRAMES[frame % len(FRAMES)], self.text())
            frame += 1
            self._stop.wait(REDRAW_EVERY)

    def _draw(self, frame: str, text: str) -> None:
        width = self._columns() - 1
        line = f"{frame} {text}"[:width]
        mark = f"\x1b[32m{frame}\x1b[0m" if self.color else frame
        # no escape sequence to clear the line: spaces over what the last one left
        padding = " " * max(0, self._drawn - len(line))
        self._write(f"\r{mark}{line[len(frame):]}{padding}\r")
        self._drawn = len(line)

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size((80, 24)).columns

    def _write(self, data: str) -> None:
        try:
            self._stream.write(data)
            self._stream.flush()
        except (OSError, ValueError):   # the terminal went away: nothing left to show it on
            self._stop.set()

    def finish(self, text: str) -> None:
        self.close()
        self.echo_err(text)

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        with self._lock:
            if self._drawn:
                self._write("\r" + " " * self._drawn + "\r")
                self._drawn = 0

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
