"""`version`: the plugin's version and, unless --client, the cluster's."""
from __future__ import annotations

import json

import click

from .. import __version__
from .options import global_options, kube_flags, output_option, parse_bool


@click.command("version")
@click.option("--client", "client_only", is_flag=False, flag_value="true", default="false",
              metavar="[BOOL]", help="Print only the plugin's version (no cluster needed).")
@output_option("text", "json", "yaml", default="text")
@kube_flags
def command(client_only: str, output: str) -> None:
    """Print the plugin version and the Kubernetes API server version."""
    info = {"clientVersion": {"version": f"v{__version__}"}}
    error = None
    if not parse_bool(client_only):
        opts = global_options(click.get_current_context())
        try:
            server = opts.cluster().server_version()
            info["serverVersion"] = {"gitVersion": server.get("gitVersion", ""),
                                     "platform": server.get("platform", "")}
        except Exception as exc:  # printed after the client version, like kubectl does
            error = exc
    if output == "json":
        click.echo(json.dumps(info, indent=2, allow_nan=False))
    elif output == "yaml":
        # lazy: PyYAML costs start-up time and only -o yaml needs it
        import yaml

        click.echo(yaml.safe_dump(info, sort_keys=False), nl=False)
    else:
        click.echo(f"Client Version: {info['clientVersion']['version']}")
        if "serverVersion" in info:
            # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
            from ..scrape.text import printable

            click.echo(f"Server Version: {printable(info['serverVersion']['gitVersion'])}")
    if error is not None:
        raise error
