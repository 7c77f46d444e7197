"""Shell completion, for kubectl and for the binaries used directly.

kubectl (>= 1.26) completes `kubectl linkerd-otel <TAB>` by running `kubectl_complete-linkerd_otel` with
the words after the plugin name (the last one being the word under the cursor, possibly empty) and
reading cobra's `__complete` answer: one candidate per line (`value<TAB>description`), then
`:<directive>`. The candidates come from click's own completion machinery over the real command tree.

`kubectl linkerd-otel completion bash|zsh|fish` prints click's scripts for using the binaries directly;
those scripts call the binary back with COMPLETE_VAR set, answered by shell_complete().
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional, Tuple

from ..errors import UsageError

COMPLETE_VAR = "_KUBECTL_LINKERD_OTEL_COMPLETE"
# Names a user types to run the binary directly; each gets its own completion function.
BINARY_NAMES = ("kubectl-linkerd_otel", "linkerd-otel")

# cobra's ShellCompDirective bits (spf13/cobra completions.go).
DIRECTIVE_ERROR = 1
DIRECTIVE_NO_SPACE = 2
DIRECTIVE_NO_FILE_COMP = 4
DIRECTIVE_FILTER_FILE_EXT = 8
DIRECTIVE_FILTER_DIRS = 16
DIRECTIVE_DEFAULT = 0


def _one_line(text: Optional[str]) -> str:
    if not text:
        return ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first.replace("\t", " ")


def complete(cli, words: List[str]) -> Tuple[List[Tuple[str, str]], int]:
    """Candidates (value, description) and cobra directive for the words after the plugin name, from the
    command tree `cli` (the root group, passed in: this layer sits below it)."""
    # lazy: completion machinery, loaded only when completing (start-up time)
    from click.shell_completion import ShellComplete

    words = list(words) or [""]
    args, incomplete = words[:-1], words[-1]
    comp = ShellComplete(cli, {}, "kubectl linkerd-otel", COMPLETE_VAR)
    try:
        items = comp.get_completions(args, incomplete)
    except Exception:  # an unparsable line: offer nothing rather than a traceback in the shell
        return [], DIRECTIVE_ERROR
    types = {item.type for item in items}
    if "file" in types:
        return [], DIRECTIVE_DEFAULT
    if "dir" in types:
        return [], DIRECTIVE_FILTER_DIRS
    return [(str(item.value), _describe(cli, item)) for item in items], DIRECTIVE_NO_FILE_COMP


def _describe(cli, item) -> str:
    """click cuts command help at 45 characters for its own menus; shells show one full line."""
    # lazy: entry.py loads this module before click, to answer completion fast (start-up time)
    import click

    if item.type == "plain" and not str(item.value).startswith("-"):
        command = cli.get_command(click.Context(cli), str(item.value))
        if command is not None and command.get_short_help_str() == (item.help or "") and \
                (command.short_help or command.help):
            return _one_line(command.short_help or command.help)
    return _one_line(item.help)


def cobra_answer(cli, words: List[str]) -> str:
    candidates, directive = complete(cli, words)
    lines = [f"{value}\t{help}" if help else value for value, help in candidates]
    lines.append(f":{directive}")
    return "\n".join(lines) + "\n"


def main(cli, argv: Optional[List[str]] = None) -> None:
    """`kubectl_complete-linkerd_otel WORD...` (also accepts cobra's own `__complete WORD...`)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in ("__complete", "__completeNoDesc"):
        no_desc = words[0] == "__completeNoDesc"
        words = words[1:]
    else:
        no_desc = False
    answer = cobra_answer(cli, words)
    if no_desc:
        answer = "\n".join(line.split("\t", 1)[0] for line in answer.splitlines()) + "\n"
    sys.stdout.write(answer)
    sys.stdout.flush()


def source(cli, shell: str) -> str:
    """click's completion script for `shell`, for every name the binary is used under."""
    # lazy: completion machinery, loaded only when completing (start-up time)
    from click.shell_completion import get_completion_class

    comp_cls = get_completion_class(shell)
    if comp_cls is None:
        raise UsageError(f"no completion for shell {shell!r}; use bash, zsh or fish")
    return "".join(comp_cls(cli, {}, name, COMPLETE_VAR).source() for name in BINARY_NAMES)


def shell_complete(cli, instruction: Optional[str] = None) -> int:
    """Answer a direct-use completion script (COMPLETE_VAR=bash_complete etc.); returns the exit code."""
    # lazy: completion machinery, loaded only when completing (start-up time)
    from click.shell_completion import shell_complete as click_shell_complete

    instruction = instruction or os.environ.get(COMPLETE_VAR, "")
    prog_name = os.path.basename(sys.argv[0]) if sys.argv else BINARY_NAMES[0]
    return click_shell_complete(cli, {}, prog_name, COMPLETE_VAR, instruction)
