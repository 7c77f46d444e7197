"""The command line: the group, its lazily loaded commands, and the one place that maps errors to exit codes.

Exit codes: 0 success, 1 checks failed (check/targets), 2 the command itself could not run.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from typing import List, Optional

import click

from . import __version__
from .errors import PluginError
from .commands.options import global_options, group_flags

# name -> module under kubectl_linkerd_otel.commands exposing `command`; loaded only when needed.
COMMANDS = {
    "install": "install",
    "uninstall": "uninstall",
    "check": "check",
    "targets": "targets",
    "stat": "stat",
    "validate": "validate",
    "snapshot": "snapshot",
    "dashboard": "dashboard",
    "version": "version",
    "_extension-metadata": "extension_metadata",
    "completion": "completion",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> List[str]:
        return [name for name, module in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        module = COMMANDS.get(name)
        if module is None or not _module_exists(module):
            return None
        return importlib.import_module(f"{__package__}.commands.{module}").command

    def resolve_command(self, ctx: click.Context, args: List[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            # lazy: only a mistyped command needs it (start-up time)
            import difflib

            # as kubectl does: a mistyped command gets the closest one (click suggests only for options)
            close = difflib.get_close_matches(name, [c for c in self.list_commands(ctx) if not c.startswith("_")],
                                              n=1, cutoff=0.6)
            raise click.UsageError(f"unknown command '{name}'" + (f"; did you mean '{close[0]}'?" if close else ""),
                                   ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's first sentence whole, wrapped (click cuts it to fit one line, mid-sentence)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(f"{__package__}.commands.{module}") is not None


def prog_name(argv0: str) -> str:
    base = os.path.basename(argv0)
    if base.startswith("linkerd-otel"):
        return "linkerd otel"
    return "kubectl linkerd-otel"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 110})
@group_flags
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Get Linkerd's metrics into any OpenTelemetry backend, without linkerd-viz, and prove they arrive.

    \b
    Typical use:
      kubectl linkerd-otel install                      apply the collector stack
      kubectl linkerd-otel check                        diagnose the whole path
      kubectl linkerd-otel targets                      which proxies are scraped, and why not
      kubectl linkerd-otel stat deploy -n NS            golden metrics per workload, from the proxies
      kubectl linkerd-otel validate -f config.yaml      check a collector config as the collector would
      kubectl linkerd-otel snapshot -f FILE             save it all to check offline (credentials redacted)
      kubectl linkerd-otel check --demo                 see a report on a made-up mesh, no cluster needed
    """
    opts = global_options(ctx)
    ctx.call_on_close(opts.close)


def kubectl_style_args(args: List[str]) -> List[str]:
    """kubectl (pflag) accepts `-o=yaml`, `-n=ns`, `-v=6` for short flags; click would read `=yaml` as
    the value. Split them (`-v=N` becomes `--verbose=N`, the form its optional value takes)."""
    out: List[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return out + args[index:]
        if len(arg) > 2 and arg[0] == "-" and arg[1].isalpha() and arg[2] == "=":
            out.extend([f"--verbose={arg[3:]}"] if arg[1] == "v" else [arg[:2], arg[3:]])
        else:
            out.append(arg)
    return out


def kubectl_verbosity(args: List[str]) -> List[str]:
    """kubectl's `-v=6`, `-v 6`, `--v=6` and `--verbose=6` before the command: the group's -v is a plain
    switch (its optional value would swallow the command name), so the level moves after the command,
    where -v takes a value."""
    command = next((i for i, arg in enumerate(args) if arg in COMMANDS or arg == "--"), len(args))
    level, kept, i = None, [], 0
    while i < command:
        arg = args[i]
        if arg in ("-v", "--v", "--verbose"):
            if i + 1 < command and args[i + 1].isascii() and args[i + 1].isdigit():
                level, i = args[i + 1], i + 2
                continue
            level = level or "1"
        elif arg.startswith(("--v=", "--verbose=")):
            level = arg.split("=", 1)[1]
        else:
            kept.append(arg)
        i += 1
    if level is None:
        return args
    if command < len(args) and args[command] in COMMANDS:
        return kept + [args[command], f"--verbose={level}"] + args[command + 1:]
    return kept + ["-v"] + args[command:]


def _usage_error_line(exc: click.ClickException) -> str:
    """click prints usage, a hint and the error over four lines; kubectl users get one."""
    message = re.sub(r"\s*\n\s*", " ", exc.format_message().strip())   # click's "Choose from:" list, say
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        return f"Error: {message} (see '{ctx.command_path} --help')"
    return f"Error: {message}"


def _error_line(line: str) -> None:
    """The one line of an error, on stderr. It may quote the cluster, a file or a snapshot (an API
    server's message, a name): escape sequences and line breaks in it are escaped (scrape/text.py)."""
    # lazy: only an error needs it (start-up time)
    from .scrape.text import printable

    click.echo(printable(line), err=True)


def json_check(args: List[str]) -> bool:
    """The command is `check` with JSON output (`-o json`, `--output json`, `--output=json`, `-ojson`;
    `-o=json` is split before): what `linkerd check` runs for an extension."""
    at = next((i for i, arg in enumerate(args) if arg in COMMANDS or arg == "--"), None)
    if at is None or args[at] != "check":
        return False
    output, rest = None, args[at + 1:]
    for i, arg in enumerate(rest):
        if arg == "--":
            break
        if arg in ("-o", "--output") and i + 1 < len(rest):
            output = rest[i + 1]
        elif arg.startswith("--output="):
            output = arg.split("=", 1)[1]
        elif arg.startswith("-o") and not arg.startswith("--") and len(arg) > 2:
            output = arg[2:]
    return (output or "").strip().lower() == "json"


def _fail(line: str, code: int, json_output: bool, exc: Optional[BaseException] = None) -> None:
    """End with an error: its line on stderr, and for `check -o json` a document on stdout too
    (report/check_json.error_document), unless the command printed its report before failing."""
    if json_output and code == 2 and not getattr(exc, "report_printed", False):
        # lazy: only `check -o json` failing needs it (start-up time)
        from .report.check_json import error_document

        click.echo(error_document(line[len("Error: "):] if line.startswith("Error: ") else line), nl=False)
    _error_line(line)
    sys.exit(code)


def main(argv: Optional[List[str]] = None) -> None:
    args = kubectl_verbosity(kubectl_style_args(sys.argv[1:] if argv is None else list(argv)))
    if not args:
        args = ["--help"]   # like kubectl: a bare command prints its help and exits 0
    name = prog_name(sys.argv[0] if sys.argv else "kubectl-linkerd_otel")
    verbose = any(a in ("-v", "--verbose") or a.startswith("--verbose=") and a != "--verbose=false"
                  for a in args)
    json_output = json_check(args)
    try:
        # Without standalone mode click returns ctx.exit(n)'s code instead of exiting.
        code = cli.main(args=args, prog_name=name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _fail(_usage_error_line(exc), 2, json_output, exc)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # `... | head`: the reader went away; say nothing.
        try:
            sys.stdout = None  # type: ignore[assignment]
        finally:
            os._exit(0)
    except PluginError as exc:
        _fail(f"Error: {exc}", exc.exit_code, json_output, exc)
    except Exception as exc:  # a bug of ours: one line, the traceback only on request
        line = (f"Error: internal error: {type(exc).__name__}: {exc} "
                f"(re-run with -v for the traceback, and please report it)")
        if verbose:
            # lazy: only -v on an internal error needs it (start-up time)
            import traceback

            traceback.print_exc()
            if json_output:
                _fail(line, 2, json_output, exc)
            sys.exit(2)
        _fail(line, 2, json_output, exc)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["cli", "main", "__version__"]
