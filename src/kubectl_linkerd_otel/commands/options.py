"""kubectl's global flags, accepted before or after the subcommand, and the lazily built cluster client.

kubectl passes none of its own flags to a plugin, so the plugin parses them itself. Each flag is declared
on the group and again on every subcommand; all of them write into one GlobalOptions object shared
through click's context, so `kubectl linkerd-otel -n x check` and `... check -n x` mean the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

import click

from ..errors import UsageError
from ..k8s.kubeflags import KubeOptions
from ..k8s.limits import INPUT_FILE, in_help
from ..naming import DEFAULT_NAMESPACE

_UNSET_VALUES = (None, (), "")


def parse_bool(value: Any) -> bool:
    """Go-style bool flag values as Linkerd passes them (`--verbose=false`)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "1", "t", "true", "yes", "y", "on"):
        return True
    if text in ("0", "f", "false", "no", "n", "off"):
        return False
    raise click.BadParameter(f"{value!r} is not a boolean (use true or false)")


def duration_seconds(value: Any, *, flag: str = "duration") -> Optional[float]:
    """Seconds of a kubectl/Go duration flag: `30s`, `5m0s`, `1h`, `250ms`, or a bare number of seconds.
    `0` -> None."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..k8s.durations import go_duration_seconds

    if value is None:
        return None
    seconds = go_duration_seconds(str(value), flag=flag)
    if seconds < 0:
        raise UsageError(f"invalid {flag} {value!r}: a duration here cannot be negative")
    return seconds or None


@dataclass
class GlobalOptions:
    connection: KubeOptions = field(default_factory=KubeOptions)    # kubectl's connection flags
    namespace: str = DEFAULT_NAMESPACE
    namespace_given: bool = False
    verbose: int = 0
    no_color: bool = False
    _cluster: Any = field(default=None, repr=False)

    def cluster(self):
        """The live cluster as a Source (source/live.py), one per run; it connects on first use."""
        if self._cluster is None:
            # lazy: the Source and the layers below load when the command runs (start-up time of --help)
            from ..source.live import Cluster
            from .progress import terminal_display

            self._cluster = Cluster(self.connection, display=terminal_display)
        return self._cluster

    def kube(self):
        """The cluster client for cluster/ (install, uninstall), built on first use."""
        return self.cluster().connection()

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def global_options(ctx: click.Context) -> GlobalOptions:
    root = ctx.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions()
    return root.obj


def _store(attr: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if attr == "namespace" and isinstance(value, str) and not value.strip():
            # given but empty (`-n ''`, `-n "$NS"` with NS unset): not the same as not given
            raise click.BadParameter("the namespace is empty: give a name, or leave the flag out")
        if value in _UNSET_VALUES:
            return
        opts = global_options(ctx)
        setattr(opts.connection if hasattr(opts.connection, attr) else opts, attr, convert(value))
        if attr == "namespace":
            opts.namespace_given = True
    return callback


def _groups(values) -> List[str]:
    # Linkerd passes `--as-group=[]`; kubectl accepts comma-free repeated flags.
    out: List[str] = []
    for value in values:
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            value = value[1:-1]
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def _verbosity(value: Any) -> int:
    text = str(value).strip().lower()
    if text.isascii() and text.isdigit():
        return int(text)
    return 1 if parse_bool(text) else 0


COMPLETION_TIMEOUT = 5.0


def _complete_kubeconfig(section: str) -> Callable:
    """Names of contexts, clusters or users in the kubeconfig kubectl would read (no cluster call)."""
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> List[str]:
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..source.live import kubeconfig_names

        try:
            names = kubeconfig_names(KubeOptions(kubeconfig=global_options(ctx).connection.kubeconfig), section)
        except Exception:  # completion offers nothing rather than an error in the shell
            return []
        return [name for name in names if name.startswith(incomplete)]
    return complete


def _complete_namespaces(ctx: click.Context, _param: click.Parameter, incomplete: str) -> List[str]:
    """Namespaces from the cluster, like kubectl's own `-n <TAB>`; bounded so a shell never hangs."""
    opts = global_options(ctx)
    if opts.connection.request_timeout is None or opts.connection.request_timeout > COMPLETION_TIMEOUT:
        opts.connection.request_timeout = COMPLETION_TIMEOUT
    try:
        names = opts.cluster().namespace_names()
    except Exception:
        return []
    finally:
        opts.close()
    return sorted(name for name in names if name.startswith(incomplete))


_FLAGS = [
    click.option("--kubeconfig", metavar="PATH", help="Path to the kubeconfig file to use.",
                 type=click.Path(),
                 callback=_store("kubeconfig"), expose_value=False, is_eager=True),
    click.option("--context", metavar="NAME", help="The kubeconfig context to use.",
                 callback=_store("context"), expose_value=False, is_eager=True,
                 shell_complete=_complete_kubeconfig("contexts")),
    click.option("--cluster", metavar="NAME", help="The kubeconfig cluster to use.",
                 callback=_store("cluster"), expose_value=False, is_eager=True,
                 shell_complete=_complete_kubeconfig("clusters")),
    click.option("--user", metavar="NAME", help="The kubeconfig user to use.",
                 callback=_store("user"), expose_value=False, is_eager=True,
                 shell_complete=_complete_kubeconfig("users")),
    click.option("-s", "--server", metavar="URL", help="The address of the Kubernetes API server.",
                 callback=_store("server"), expose_value=False, is_eager=True),
    click.option("--token", metavar="TOKEN", help="Bearer token for the API server.",
                 callback=_store("token"), expose_value=False, is_eager=True),
    click.option("-n", "--namespace", metavar="NS",
                 help=f"Namespace of the collector (default {DEFAULT_NAMESPACE}).",
                 callback=_store("namespace"), expose_value=False, is_eager=True,
                 shell_complete=_complete_namespaces),
    click.option("--request-timeout", metavar="DURATION",
                 help="Timeout for a whole API request (connecting, headers and body) or credential plugin run, "
                      "e.g. 30s or 1m (0: the default, 30s).",
                 callback=_store("request_timeout",
                                 lambda v: duration_seconds(v, flag="--request-timeout")),
                 expose_value=False, is_eager=True),
    click.option("--as", "as_user", metavar="USER", help="User to impersonate.",
                 callback=_store("as_user"), expose_value=False, is_eager=True),
    click.option("--as-group", "as_groups", metavar="GROUP", multiple=True,
                 help="Group to impersonate (repeatable).",
                 callback=_store("as_groups", _groups), expose_value=False, is_eager=True),
]


def _switches(on_group: bool) -> list:
    """Boolean flags. After the subcommand they take an optional value (`--verbose=false`, as Linkerd
    passes them); before it they must be plain switches, or `--no-color check` would read `check` as
    the flag's value."""
    def switch(*decls: str, convert: Callable, attr: str, value: str, metavar: str, help: str):
        extra = ({"is_flag": True, "flag_value": value, "default": None} if on_group else
                 {"is_flag": False, "flag_value": value, "metavar": metavar})
        return click.option(*decls, help=help, callback=_store(attr, convert), expose_value=False,
                            is_eager=True, **extra)

    return [
        switch("--insecure-skip-tls-verify", "insecure_skip_tls_verify", convert=parse_bool,
               attr="insecure_skip_tls_verify", value="true", metavar="[BOOL]",
               help="Do not verify the API server's certificate (insecure)."),
        switch("-v", "--verbose", convert=_verbosity, attr="verbose", value="1", metavar="[LEVEL]",
               help="Verbose output (tracebacks on internal errors)."),
        switch("--no-color", convert=parse_bool, attr="no_color", value="true", metavar="[BOOL]",
               help="Plain output without colour (also: NO_COLOR=1)."),
    ]


def kube_flags(func: Callable) -> Callable:
    """Add kubectl's global flags to a subcommand."""
    for option in reversed(_FLAGS + _switches(on_group=False)):
        func = option(func)
    return func


def group_flags(func: Callable) -> Callable:
    """Add kubectl's global flags to the command group (given before the subcommand)."""
    for option in reversed(_FLAGS + _switches(on_group=True)):
        func = option(func)
    return func


def snapshot_options(verb: str = "Read", what: str = "a saved snapshot") -> Callable[[Callable], Callable]:
    """--snapshot FILE and --demo: the command reads a snapshot instead of the cluster (`verb what`)."""
    def decorate(func: Callable) -> Callable:
        func = click.option("--demo", is_flag=True,
                            help=f"{verb} the demo snapshot shipped with the plugin (no cluster needed).")(func)
        return click.option("--snapshot", "snapshot_file", metavar="FILE",
                            help=f"{verb} {what} (`kubectl linkerd-otel snapshot -f FILE`) instead of the cluster "
                                 f"({in_help(INPUT_FILE)}).")(func)
    return decorate


def output_option(*choices: str, default: str):
    return click.option("-o", "--output", type=click.Choice(list(choices), case_sensitive=False),
                        default=default, show_default=True, help="Output format.")
