"""`validate`: check a collector config file as the collector would at start, for a given image.

Exit codes: 0 the collector would start with it (warnings allowed); 1 it would refuse it (or a problem
the plugin counts as an error, such as a credential in clear); 2 the file could not be read.
"""
from __future__ import annotations

import json
from typing import Optional

import click

from ..k8s.limits import CONFIG_FILE, in_help
from .options import kube_flags, output_option


@click.command("validate")
@click.option("-f", "--filename", "filename", required=True, metavar="FILE", type=click.Path(allow_dash=True),
              help=f"A collector config file, or a ConfigMap YAML holding one (-: stdin; {in_help(CONFIG_FILE)}).")
@click.option("--image", default=None, metavar="IMAGE",
              help="The collector image the config is for: its distribution and version decide which "
                   "components and keys exist (default: the newest collector, any distribution).")
@click.option("--distribution", type=click.Choice(["core", "contrib", "k8s"]), default=None,
              help="Validate for this distribution's pinned image (with --image: override the "
                   "distribution its name says).")
@output_option("text", "json", default="text")
@kube_flags
def command(filename: str, image: Optional[str], distribution: Optional[str], output: str) -> None:
    """Validate a collector config: unknown keys, types, ranges, durations, ${env:...}, pipelines.

    \b
      kubectl linkerd-otel validate -f config.yaml --image otel/opentelemetry-collector:0.130.0
      kubectl get configmap -n observability linkerd-otel-collector-config -o yaml \\
        | kubectl linkerd-otel validate -f - --distribution contrib
    """
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..collector.schema.distributions import PINNED_IMAGES, format_version, parse_image
    from ..scrape.validation import validate
    from ..source.files import load_config_file

    config = load_config_file(filename)
    if image is None and distribution is not None:
        image = PINNED_IMAGES[distribution]
    problems = validate(config, image=image, distribution=distribution)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    named, version = parse_image(image)
    target = checked_as(image, distribution)
    if output.lower() == "json":
        click.echo(json.dumps({
            "file": filename, "image": image, "distribution": distribution or named,
            "version": format_version(version) if version else None, "checkedAs": target, "valid": not errors,
            "errors": len(errors), "warnings": len(warnings),
            "problems": [{"severity": p.severity, "code": p.code, "path": getattr(p, "path", ""),
                          "message": p.message, "hint": p.hint} for p in problems]}, indent=2, allow_nan=False))
    else:
        # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
        from ..scrape.text import printable     # messages quote keys and values of the file

        for problem in errors + warnings:
            click.echo(f"{'×' if problem.severity == 'error' else '‼'} {printable(problem.message)}")
            if problem.hint:
                click.echo(f"    {printable(problem.hint)}")
        if not problems:
            click.echo(f"√ {printable(filename)} is a valid config for {target}")
        else:
            click.echo(f"{printable(filename)}: {_count(len(errors), 'error')}, {_count(len(warnings), 'warning')} "
                       f"for {target}")
    click.get_current_context().exit(1 if errors else 0)


def checked_as(image: Optional[str], distribution: Optional[str]) -> str:
    """The image, and which schema it was checked against when the image does not say it all."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..collector.schema.distributions import format_version, parse_image

    if image is None:
        return "the newest collector (any distribution; give --image or --distribution to be exact)"
    named, version = parse_image(image)
    unknown = []
    if not (distribution or named):
        unknown.append("not a collector image this plugin knows")
    if version is None:
        unknown.append("its tag has no major.minor version")
    schema = (f"the {distribution or named} distribution" if distribution or named else "any distribution") + \
        (f" {format_version(version)}" if version else ", newest version")
    if not unknown:
        return image
    fix = "--distribution core|contrib|k8s" if not (distribution or named) else "a versioned tag"
    return f"{image} ({'; '.join(unknown)}: checked against {schema}; give {fix} to be exact)"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
