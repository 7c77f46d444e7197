"""Printing instead of applying: when install and uninstall print manifests, and how."""
from __future__ import annotations

import json
from typing import List, Optional

import click


def print_instead_of_apply(output: Optional[str], dry_run: Optional[str], stdout_is_tty: bool) -> bool:
    """True when the command should print manifests and change nothing.

    `-o yaml|json` or `--dry-run[=client]` print; `-o text` applies; without `-o` a terminal applies and a
    pipe prints (so `linkerd-otel install | kubectl apply -f -` works)."""
    if dry_run == "client":
        return True
    if output in ("yaml", "json"):
        return dry_run != "server"
    if output == "text" or dry_run == "server":
        return False
    return not stdout_is_tty


def print_objects(objects: List[dict], output: Optional[str]) -> None:
    """A `kind: List` as JSON for `-o json`, else the YAML documents."""
    if output == "json":
        click.echo(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2, allow_nan=False))
        return
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..render.yaml_out import dump_all

    if objects:
        click.echo(dump_all(objects), nl=False)
