"""Validate a collector config as `otelcol validate` would, for a given image (pure).

The collector decodes each component's section into its Go config struct with mapstructure's
`ErrorUnused` and then runs the struct's `Validate()`: an unknown key, a wrong type, a bad duration or a
failed rule stops it from starting. The schemas of collector/schema/ reproduce that for the components
the plugin renders and the common ones users add; components of other types are checked only for
existing in the image. On top come the checks of `collector.config.find_problems` (pipelines, `$` in the
Prometheus config, credentials in clear) and `${...}` references.

Every problem names the key path (`exporters.otlp_grpc/backend.tls.insecur`).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Collection, Iterator, List, Optional, Tuple

from ..k8s.durations import duration_ns
from ..scrape.config import ScrapeConfigError, receivers
from .config import ConfigProblem, component_type, dollar_uses, find_problems
from .schema import components as C
from .schema import distributions as D
from .schema.types import (AnyValue, Bool, Duration, Enum, Float, Int, ListOf, MapOf, Obj, Since, Spec,
                           Str, Version)

KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")
SIGNALS = ("traces", "metrics", "logs", "profiles")
# find_problems codes this engine replaces with distribution- and version-aware ones
_REPLACED = ("not-in-image", "unknown-type", "deprecated-name", "name-too-new")

UNKNOWN_KEY = "unknown-key"
WRONG_TYPE = "wrong-type"
OUT_OF_RANGE = "out-of-range"
BAD_DURATION = "bad-duration"
MISSING_REQUIRED = "missing-required"
INVALID_VALUE = "invalid-value"
BAD_ENV_REF = "bad-env-ref"
UNSET_ENV = "unset-env"
BAD_ID = "bad-component-id"
PIPELINE = "pipeline"
PROMETHEUS_CONFIG = "prometheus-config"


@dataclass
class Problem(ConfigProblem):
    path: str = ""


_TYPE_ID = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}$")
_ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SCHEMES = ("env", "file", "http", "https", "yaml")


def _has_ref(value: Any) -> bool:
    return isinstance(value, str) and any(m is not None for _i, m in dollar_uses(value))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class _Walker:
    def __init__(self, version: Optional[Version]):
        self.version = version
        self.problems: List[Problem] = []

    def emit(self, path: str, code: str, message: str, hint: str = "", severity: str = "error") -> None:
        self.problems.append(Problem(severity, f"{path}: {message}", hint, code, path))

    def check(self, spec: Spec, value: Any, path: str) -> None:
        if isinstance(spec, Since):
            spec = spec.spec
        if isinstance(spec, AnyValue):
            return
        if isinstance(value, str) and _has_ref(value) and not isinstance(spec, (Str, Obj, ListOf, MapOf)):
            return      # its type is known only once the collector expands it
        if isinstance(spec, Obj):
            self._obj(spec, value, path)
        elif isinstance(spec, ListOf):
            if value is None:
                return
            if not isinstance(value, list):
                self.emit(path, WRONG_TYPE, f"must be a list, not {_describe(value)}", f"write it as [{value}]")
                return
            for index, item in enumerate(value):
                self.check(spec.item, item, f"{path}[{index}]")
        elif isinstance(spec, MapOf):
            if value is None:
                return
            if not isinstance(value, dict):
                self.emit(path, WRONG_TYPE, f"must be a mapping, not {_describe(value)}")
                return
            for key, item in value.items():
                self.check(spec.value, item, f"{path}.{key}")
        else:
            self._scalar(spec, value, path)

    def _obj(self, spec: Obj, value: Any, path: str) -> None:
        if value is None:
            if spec.required:
                self.emit(path, MISSING_REQUIRED, f"is empty but needs {', '.join(spec.required)}")
            elif not spec.rules:
                return
            value = {}
        if not isinstance(value, dict):
            self.emit(path, WRONG_TYPE, f"must be a mapping, not {_describe(value)}")
            return
        for key, item in value.items():
            sub = f"{path}.{key}"
            field_spec = spec.fields.get(str(key))
            if isinstance(field_spec, Since) and self.version is not None and self.version < field_spec.version:
                self.emit(sub, UNKNOWN_KEY, f"unknown key for collector {D.format_version(self.version)}: "
                                            f"it was added in {D.format_version(field_spec.version)}",
                          "use a newer collector image, or remove the key")
                continue
            if field_spec is None:
                self._unknown(spec, str(key), sub)
                continue
            self.check(field_spec, item, sub)
        for key in spec.required:
            if key not in value:
                self.emit(f"{path}.{key}", MISSING_REQUIRED, "is required")
        for rule in spec.rules:
            def emit(key, message, hint="", severity="error", _path=path):
                self.emit(f"{_path}.{key}" if key else _path,
                          MISSING_REQUIRED if "required" in message or "must be set" in message
                          or "must be specified" in message or "non-empty" in message
                          else OUT_OF_RANGE, message, hint, severity)
            rule(value, emit)

    def _unknown(self, spec: Obj, key: str, path: str) -> None:
        close = difflib.get_close_matches(key, list(spec.fields), n=1, cutoff=0.6)
        known = ", ".join(sorted(spec.fields)[:12]) + (", ..." if len(spec.fields) > 12 else "")
        if close:
            self.emit(path, UNKNOWN_KEY, f"unknown key {key!r}; did you mean {close[0]!r}?",
                      f"the collector refuses unknown keys (\"has invalid keys: {key}\"); rename it {close[0]}")
        else:
            self.emit(path, UNKNOWN_KEY, f"unknown key {key!r}",
                      f"the collector refuses unknown keys; valid here: {known}")

    def _scalar(self, spec: Spec, value: Any, path: str) -> None:
        if value is None:
            return      # null is the zero value for mapstructure
        if isinstance(spec, Str):
            if isinstance(value, (dict, list)):
                self.emit(path, WRONG_TYPE, f"must be {spec.name}, not {_describe(value)}")
        elif isinstance(spec, Bool):
            # mapstructure decodes no string into a bool: `"true"` in quotes is refused
            # ("expected type 'bool', got unconvertible type 'string'"); ${...} values never get here
            if not isinstance(value, bool):
                self.emit(path, WRONG_TYPE, f"must be {spec.name}, not {_describe(value)}")
        elif isinstance(spec, (Int, Float)):
            number = _number(value, integer=isinstance(spec, Int))
            if number is None:
                self.emit(path, WRONG_TYPE, f"must be {spec.name}, not {_describe(value)}")
                return
            low, high = (spec.min, spec.max) if not isinstance(spec, Int) else spec.bounds
            if low is not None and number < low:
                self.emit(path, OUT_OF_RANGE, f"must be at least {low}, not {number}")
            if high is not None and number > high:
                self.emit(path, OUT_OF_RANGE, f"must be at most {high}, not {number}")
        elif isinstance(spec, Duration):
            ns = duration_ns(value)
            if ns is None:
                self.emit(path, BAD_DURATION, f"{_describe(value)} is not a duration",
                          "write a Go duration with a unit: 500ms, 5s, 1m30s")
            elif spec.min_ns is not None and ns < spec.min_ns:
                self.emit(path, OUT_OF_RANGE, "must not be negative")
        elif isinstance(spec, Enum):
            text = str(value).lower() if spec.case_insensitive else str(value)
            allowed = [v.lower() for v in spec.values] if spec.case_insensitive else list(spec.values)
            if isinstance(value, (dict, list)) or text not in allowed:
                close = difflib.get_close_matches(str(value), [v for v in spec.values if v], n=1)
                more = f"; did you mean {close[0]!r}?" if close else ""
                self.emit(path, INVALID_VALUE, f"{_describe(value)} is not {spec.name}{more}")


def _number(value: Any, integer: bool) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if integer and not value.is_integer() else value
    if isinstance(value, str):
        if not value.isascii():     # Go's strconv reads ASCII digits only; Python's int() any digit
            return None
        try:
            return int(value.strip(), 0) if integer else float(value)
        except ValueError:
            return None
    return None


def _walk_strings(value: Any, path: str) -> Iterator[Tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


_REF = re.compile(r"\$\{([^{}]*)(\}?)")


def _env_refs(config: dict, env_names: Optional[Collection[str]], out: _Walker) -> None:
    """`${env:VAR}`, `${VAR}`, `${file:...}`: the collector resolves them before decoding; a bad one stops
    it, an unset variable becomes an empty string."""
    for path, text in _walk_strings(config, ""):
        i = 0
        while i < len(text):
            if text.startswith("$$", i):
                i += 2
                continue
            match = _REF.match(text, i) if text[i] == "$" else None
            if match is None:
                i += 1
                continue
            i = match.end()
            body, closed = match.group(1), match.group(2)
            if not closed:
                out.emit(path, BAD_ENV_REF, f"${{ without a closing }} in {text[:60]!r}",
                         "close the reference: ${env:VAR}; write $$ for a literal $")
                continue
            scheme, sep, rest = body.partition(":")
            if not sep:
                scheme, rest = "env", body
            elif scheme not in _SCHEMES and _ENV_NAME.match(scheme) and rest.startswith("-"):
                scheme, rest = "env", body      # ${VAR:-default}
            if scheme not in _SCHEMES:
                out.emit(path, BAD_ENV_REF, f"${{{body}}}: the collector has no config provider {scheme!r}",
                         f"use one of {', '.join(_SCHEMES)}; write $$ for a literal $")
                continue
            if scheme != "env":
                continue
            name = rest.split(":-", 1)[0]
            if not _ENV_NAME.match(name):
                out.emit(path, BAD_ENV_REF, f"${{{body}}}: {name!r} is not a valid environment variable name",
                         "names are letters, digits and _, not starting with a digit")
            elif env_names is not None and name not in env_names and ":-" not in rest:
                out.emit(path, UNSET_ENV, f"${{{body}}}: {name} is not set in the collector container, so the "
                                          f"collector puts an empty string here",
                         f"add {name} to the container's env (from a Secret for credentials)", "warning")


def _component_ids(config: dict, distribution: Optional[str], version: Optional[Version],
                   image: Optional[str], out: _Walker) -> None:
    where = image or (f"the {distribution} distribution" if distribution else "")
    for kind in KINDS:
        section = config.get(kind)
        if section is None:
            continue
        if not isinstance(section, dict):
            out.emit(kind, WRONG_TYPE, f"must be a mapping of components, not {_describe(section)}")
            continue
        schemas = C.BY_KIND[kind]
        for cid, body in section.items():
            path = f"{kind}.{cid}"
            ctype, _, name = str(cid).partition("/")
            if not _TYPE_ID.match(ctype) or (str(cid).count("/") and not name.strip()):
                out.emit(path, BAD_ID, f"{cid!r} is not a valid component ID",
                         "write type or type/name, e.g. otlp_grpc/backend")
                continue
            if not _available(kind, ctype, distribution, version, where, path, out):
                continue
            component = schemas.get(ctype)
            if component is not None:
                out.check(component.schema, body, path)


def _available(kind: str, ctype: str, distribution: Optional[str], version: Optional[Version],
               where: str, path: str, out: _Walker) -> bool:
    """Whether the type exists in the image; says why not. Unknown image: only unknown types are flagged."""
    label = kind[:-1]
    renamed = D.RENAMED.get((kind, ctype))
    if renamed and (version is None or version >= renamed[1]):
        out.emit(path, "deprecated-name", f"the {label} type {ctype} was renamed {renamed[0]} in collector "
                                          f"{D.format_version(renamed[1])}",
                 f"rename it {renamed[0]}{path.split(ctype, 1)[1]}", "warning")
    if not D.exists(kind, ctype, version):
        since, until = D.VERSIONED[(kind, ctype)]
        if since and version is not None and version < since:
            old = [k[1] for k, v in D.RENAMED.items() if v[0] == ctype]
            out.emit(path, "name-too-new", f"collector {where or D.format_version(version)} predates "
                                           f"{D.format_version(since)} and does not know the {label} type "
                                           f"{ctype}" + (f": it is {old[0]} there" if old else ""),
                     f"rename it {old[0]}{path.split(ctype, 1)[1]}" if old else "use a newer image")
        else:
            out.emit(path, "not-in-image", f"the {label} type {ctype} was removed in collector "
                                           f"{D.format_version(until)}",
                     "use debug instead of logging" if ctype == "logging" else "remove it")
        return False
    if not D.known_anywhere(kind, ctype):
        if ctype in C.BY_KIND[kind]:
            return True
        close = difflib.get_close_matches(ctype, sorted(D.COMPONENTS[D.CONTRIB_NAME][kind]), n=1)
        out.emit(path, "unknown-type", f"unknown {label} type {ctype!r}" +
                 (f"; did you mean {close[0]!r}?" if close else ""),
                 "the collector refuses unknown types at start", "warning" if distribution is None else "error")
        return False
    if distribution is not None and ctype not in D.COMPONENTS[distribution][kind]:
        has = D.distributions_with(kind, ctype)
        out.emit(path, "not-in-image", f"the {label} type {ctype} is not in the {distribution} "
                                       f"distribution{f' ({where})' if where else ''}",
                 f"use {' or '.join(D.PINNED_IMAGES[d] for d in has)} (--distribution "
                 f"{has[0]}), or drop the component")
        return False
    return True


def _pipelines(config: dict, out: _Walker) -> None:
    service = config.get("service")
    if service is None:
        return
    out.check(C.SERVICE, service, "service")
    pipelines = service.get("pipelines") if isinstance(service, dict) else None
    if not isinstance(pipelines, dict):
        return
    for pid, pipeline in pipelines.items():
        path = f"service.pipelines.{pid}"
        signal = component_type(pid)
        if signal not in SIGNALS:
            out.emit(path, PIPELINE, f"pipeline type {signal!r} is not one of {', '.join(SIGNALS)}")
            continue
        out.check(C.PIPELINE, pipeline, path)
        if not isinstance(pipeline, dict):
            continue
        for kind in ("receivers", "processors", "exporters"):
            listed = pipeline.get(kind)
            if not isinstance(listed, list):
                continue
            seen = set()
            for index, cid in enumerate(listed):
                if cid in seen:
                    out.emit(f"{path}.{kind}[{index}]", PIPELINE, f"lists {kind[:-1]} {cid!r} more than once")
                seen.add(cid)
                component = C.BY_KIND[kind].get(component_type(str(cid)))
                if component is not None and signal not in component.signals:
                    out.emit(f"{path}.{kind}[{index}]", PIPELINE,
                             f"the {kind[:-1]} {cid} does not support {signal}",
                             f"it handles {', '.join(component.signals)} only: move it to such a pipeline")


def _prometheus_configs(config: dict, out: _Walker) -> None:
    """The receivers' Prometheus `config`, as Prometheus 3.5 loads it (scrape/config.py)."""
    section = config.get("receivers")
    if not isinstance(section, dict):
        return
    for name, body in section.items():
        if component_type(name) != "prometheus" or not isinstance(body, dict) or body.get("config") is None:
            continue
        try:
            receivers({"receivers": {name: body}}, include_unused=True)
        except ScrapeConfigError as exc:
            out.emit(f"receivers.{name}.config", PROMETHEUS_CONFIG, str(exc))
        except (ValueError, TypeError, AttributeError) as exc:
            out.emit(f"receivers.{name}.config", PROMETHEUS_CONFIG, f"not a Prometheus config ({exc})")


def validate(config: Any, *, image: Optional[str] = None, distribution: Optional[str] = None,
             env_names: Optional[Collection[str]] = None) -> List[ConfigProblem]:
    """Every problem of `config` for the collector `image` (its distribution and version; `distribution`
    overrides what the image name says). `env_names`: the collector container's environment variable
    names, to flag `${env:VAR}` of variables it does not set (None: not known)."""
    if not isinstance(config, dict):
        return [Problem("error", f"the config is {_describe(config)}, not a mapping", "", WRONG_TYPE, "")]
    image_distribution, version = D.parse_image(image)
    distribution = distribution or image_distribution
    out = _Walker(version)
    for key in config:
        if key not in C.TOP_LEVEL:
            close = difflib.get_close_matches(str(key), C.TOP_LEVEL, n=1)
            out.emit(str(key), UNKNOWN_KEY, f"unknown top-level key {key!r}" +
                     (f"; did you mean {close[0]!r}?" if close else ""),
                     f"the top level has only {', '.join(C.TOP_LEVEL)}")
    _component_ids(config, distribution, version, image, out)
    _pipelines(config, out)
    _prometheus_configs(config, out)
    _env_refs(config, env_names, out)
    try:
        base = [p for p in find_problems(config, image=image) if p.code not in _REPLACED]
    except (AttributeError, TypeError):   # a shape find_problems does not expect: the walker said why
        base = []
    return base + out.problems


def errors(problems: List[ConfigProblem]) -> List[ConfigProblem]:
    return [p for p in problems if p.severity == "error"]


__all__ = ["validate", "errors", "Problem"]
