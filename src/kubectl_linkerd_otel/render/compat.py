"""Refuse to install a config the chosen collector image would refuse (pure).

The rendered config is validated with the same engine as `validate` and `check`, for the image's
distribution and version: a component the image lacks (e.g. basicauth in core) is an install error that
names the distribution that has it.
"""
from __future__ import annotations

from typing import List

from ..collector.config import PLAINTEXT_CREDENTIAL
from ..collector.schema.distributions import COMPONENTS, distributions_with, format_version, has_key
from ..collector.validate import validate
from ..errors import UsageError
from .backends import DELTA, DELTA_PROCESSOR
from .options import InstallOptions


def image_problems(opts: InstallOptions, config: dict) -> List[str]:
    """The errors the collector of `opts.image` would stop at, as messages with their hints."""
    distribution, _version = opts.collector
    return [f"{p.message}" + (f" ({p.hint})" if p.hint else "")
            for p in validate(config, image=opts.image, distribution=distribution)
            if p.severity == "error" and p.code != PLAINTEXT_CREDENTIAL]


def refuse_unsupported(opts: InstallOptions, config: dict) -> None:
    _refuse_delta_without_processor(opts)
    problems = image_problems(opts, config)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UsageError(f"collector {opts.image} would refuse the rendered config: {problems[0]}{more}")


def image_notes(opts: InstallOptions) -> List[str]:
    """What the rendering leaves out because the image is too old for it."""
    version = opts.collector[1]
    if not has_key("receivers", "prometheus", "api_server", version):
        return [f"collector {opts.image} ({format_version(version)}) predates the prometheus receiver's "
                f"api_server (v0.123): it is left out, so `targets` and `check` see only the expected "
                f"targets, not the collector's own; use a newer image to have both"]
    return []


def _refuse_delta_without_processor(opts: InstallOptions) -> None:
    """Delta temporality needs the cumulativetodelta processor: say so, and which distributions have it."""
    distribution = opts.collector[0]
    if opts.temporality != DELTA or distribution is None or \
            DELTA_PROCESSOR in COMPONENTS[distribution]["processors"]:
        return
    who = f"--backend {opts.backend} wants" if opts.backend else "--temporality delta needs"
    having = " or ".join(distributions_with("processors", DELTA_PROCESSOR))
    raise UsageError(f"{who} delta temporality, made by the {DELTA_PROCESSOR} processor, which collector "
                     f"{opts.image} ({distribution}) lacks: use --distribution {having} (or an image of it), "
                     f"or --temporality cumulative if the backend accepts cumulative metrics")
