"""The terminal the command runs in, read in one place (in the style of httpie's `Environment`): whether
stdout and stderr are terminals, and whether to colour. Commands take it from `environment()`; tests
get the real answers of the pipes pytest gives them."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):   # closed, replaced, or not a file
        return False


@dataclass(frozen=True)
class Environment:
    stdout_isatty: bool
    stderr_isatty: bool
    no_color: bool = False      # --no-color or NO_COLOR

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never when the user turned it off."""
        return self.stdout_isatty and not self.no_color

    @property
    def interactive(self) -> bool:
        """Both streams are terminals: a spinner may redraw a line."""
        return self.stdout_isatty and self.stderr_isatty


def environment(no_color: bool = False) -> Environment:
    return Environment(stdout_isatty=_isatty(sys.stdout), stderr_isatty=_isatty(sys.stderr),
                       no_color=no_color or bool(os.environ.get("NO_COLOR")))
