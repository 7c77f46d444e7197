"""`uninstall`: delete what `install` created, and nothing else."""
from __future__ import annotations

import click

from ..naming import MANAGED_BY_SELECTOR
from .environment import environment
from .install import dry_run_option
from .options import global_options, kube_flags, output_option
from .output import print_instead_of_apply, print_objects


@click.command("uninstall", short_help="Delete what install created, and nothing else.")
@kube_flags
@lambda func: dry_run_option(func, verb="deleted")
@output_option("text", "yaml", "json", default=None)
def command(dry_run, output):
    """Delete the collector stack: objects labelled app.kubernetes.io/managed-by=kubectl-linkerd-otel in
    the collector namespace, its cluster RBAC, the Linkerd policy objects `install --restrict-metrics`
    made for this collector (never a Server or policy of anyone else), and the namespace when nothing
    else lives in it (a kept namespace loses the labels install put on it).

    \b
    On a terminal it deletes; piped, or with -o yaml, it prints what to delete:
      linkerd-otel uninstall | kubectl delete -f -
    """
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..cluster import uninstall as remover
    from ..k8s.refs import object_ref, reference

    opts = global_options(click.get_current_context())
    kube = opts.kube()
    namespace = opts.namespace
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..cluster import policy as policy_io

    policy_found, unread = policy_io.objects_to_delete(kube, namespace)   # from install --restrict-metrics
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..scrape.text import printable

    for problem in unread:      # an API server's message: through printable
        click.echo(printable(f"Warning: could not look for the Linkerd policy objects of install "
                             f"--restrict-metrics: {problem}; run uninstall again once it answers"), err=True)
    found, kept_because = remover.objects_to_delete(kube, namespace, also_ours=policy_found)
    found = policy_io.before_namespace(found, policy_found)
    keep = remover.namespace_to_release(kube, namespace, found)
    # --dry-run (client) lists; --dry-run=server asks the API server too
    printing = dry_run != "server" and print_instead_of_apply(output, None, environment().stdout_isatty)
    if not found and keep is None:
        click.echo(f"nothing to uninstall: no objects labelled {MANAGED_BY_SELECTOR} in namespace "
                   f"{namespace}", err=True)
        if printing and output == "json":
            print_objects([], output)
        return
    if printing:
        if output is None and dry_run is None:
            click.echo("Note: stdout is not a terminal: printing the objects to delete instead of "
                       "deleting them (pipe them into `kubectl delete -f -`, or pass -o text to delete)",
                       err=True)
        print_objects([reference(obj) for _plural, obj in found], output)
        if keep is not None:
            labels = " ".join(f"{key}-" for key in remover.our_namespace_labels(keep))
            click.echo(f"Note: namespace {namespace} is {kept_because}; remove the "
                       f"labels install put on it with `kubectl label namespace {namespace} {labels}`",
                       err=True)
        return
    if dry_run == "client":
        for _plural, obj in found:
            click.echo(f"{object_ref(obj)} deleted (dry run)")
        if keep is not None:
            click.echo(f"namespace/{namespace} unlabeled (dry run; {kept_because})")
        return
    server_dry_run = dry_run == "server"
    remover.delete_objects(kube, found, dry_run=server_dry_run, echo=click.echo)
    if keep is not None:
        _release(remover, kube, keep, server_dry_run, kept_because)


def _release(remover, kube, ns: dict, dry_run: bool, kept_because: str) -> None:
    """Remove our labels from the namespace we keep; say so, and name any label someone else owns."""
    name = ns["metadata"]["name"]
    after = remover.release_namespace(kube, ns, dry_run=dry_run)
    left = remover.our_namespace_labels(after)
    suffix = " (server dry run)" if dry_run else ""
    if any(key not in left for key in remover.our_namespace_labels(ns)):
        click.echo(f"namespace/{name} unlabeled{suffix} ({kept_because})")
    if left:
        click.echo(f"Warning: namespace {name} keeps the labels {', '.join(left)}, set by another field "
                   f"manager; remove them with `kubectl label namespace {name} "
                   f"{' '.join(k + '-' for k in left)}`", err=True)

