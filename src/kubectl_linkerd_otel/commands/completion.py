"""`completion bash|zsh|fish`: the shell script for using the binaries directly.

Through kubectl no script is needed: kubectl (>= 1.26) asks `kubectl_complete-linkerd_otel`.
"""
from __future__ import annotations

import click

from .options import kube_flags


@click.command("completion", short_help="Print the shell completion script (bash, zsh, fish).")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@kube_flags
def command(shell: str) -> None:
    """Print the completion script of SHELL for `kubectl-linkerd_otel` and `linkerd-otel`.

    \b
    bash:  source <(kubectl-linkerd_otel completion bash)
    zsh:   source <(kubectl-linkerd_otel completion zsh)
    fish:  kubectl-linkerd_otel completion fish | source

    `kubectl linkerd-otel <TAB>` needs no script: kubectl runs kubectl_complete-linkerd_otel.
    """
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from .shell_completion import source

    click.echo(source(click.get_current_context().find_root().command, shell), nl=False)
