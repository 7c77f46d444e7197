"""`uninstall`: delete what `install` created, and nothing else."""
from __future__ import annotations

import json

import click

from ..options import global_options, kube_flags, output_option
from .install import dry_run_option


@click.command("uninstall")
@kube_flags
@dry_run_option
@output_option("text", "yaml", "json", default=None)
def command(dry_run, output):
    """Delete the collector stack: objects labelled app.kubernetes.io/managed-by=kubectl-linkerd-otel in
    the collector namespace, its cluster RBAC, and the namespace when nothing else lives in it.

    \b
    On a terminal it deletes; piped, or with -o yaml, it prints what to delete:
      linkerd-otel uninstall | kubectl delete -f -
    """
    from .. import apply as applier
    from ..naming import MANAGED_BY_SELECTOR
    from ..render.yaml_out import dump_all

    opts = global_options(click.get_current_context())
    kube = opts.kube()
    found = applier.objects_to_delete(kube, opts.namespace)
    # --dry-run (client) lists; --dry-run=server asks the API server too
    printing = dry_run != "server" and applier.print_instead_of_apply(
        output, None, applier.stdout_is_tty())
    if not found:
        click.echo(f"nothing to uninstall: no objects labelled {MANAGED_BY_SELECTOR} in namespace "
                   f"{opts.namespace}", err=True)
        if printing and output == "json":
            click.echo(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))
        return
    if printing:
        refs = [applier.reference(obj) for _plural, obj in found]
        if output == "json":
            click.echo(json.dumps({"apiVersion": "v1", "kind": "List", "items": refs}, indent=2))
        else:
            click.echo(dump_all(refs), nl=False)
        return
    if dry_run == "client":
        for _plural, obj in found:
            click.echo(f"{applier.object_ref(obj)} deleted (dry run)")
        return
    applier.delete_objects(kube, found, dry_run=dry_run == "server", echo=click.echo)
