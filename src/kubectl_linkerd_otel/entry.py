"""The one entry point of every installed name (console scripts and the zipapp alike).

`kubectl-linkerd_otel` and `linkerd-otel` run the CLI (cli.main picks the usage name from argv[0]);
a copy or link named `kubectl_complete-linkerd_otel` answers kubectl's completion requests.
"""
from __future__ import annotations

import os
import sys


def main() -> None:
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    if name.startswith("kubectl_complete-"):
        complete_main()
        return
    if os.environ.get("_KUBECTL_LINKERD_OTEL_COMPLETE"):
        # lazy: this module only picks the way in; each way loads what it runs (start-up time)
        from .cli import cli
        from .commands.shell_completion import shell_complete

        sys.exit(shell_complete(cli))
    # lazy: this module only picks the way in; each way loads what it runs (start-up time)
    from .cli import main as cli_main

    cli_main()


def complete_main() -> None:
    """`kubectl_complete-linkerd_otel WORD...`: kubectl's completion request."""
    # lazy: this module only picks the way in; each way loads what it runs (start-up time)
    from .cli import cli
    from .commands.shell_completion import main as complete

    complete(cli)
