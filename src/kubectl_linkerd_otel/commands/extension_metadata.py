"""`_extension-metadata`: what Linkerd's CLI asks an extension about itself (hidden)."""
from __future__ import annotations

import json

import click

from .options import kube_flags

METADATA = {"name": "linkerd-otel", "checks": "always"}


@click.command("_extension-metadata", hidden=True)
@kube_flags
def command() -> None:
    """Print the Linkerd extension metadata as JSON."""
    click.echo(json.dumps(METADATA, separators=(",", ":"), allow_nan=False))
