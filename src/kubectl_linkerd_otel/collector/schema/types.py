"""The vocabulary component schemas are written in (pure data, no I/O).

A schema mirrors one of the collector's Go config structs as mapstructure decodes it: a mapping with known
keys (`Obj`), scalars (`Str`, `Int`, `Float`, `Bool`, `Duration`, `Enum`), `ListOf` and `MapOf`. The
collector decodes with `ErrorUnused`, so a key the struct does not have stops it from starting; `Obj`
reproduces that. `Since` marks a key that only exists from a collector version on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

Version = Tuple[int, int]


@dataclass(frozen=True)
class Spec:
    """Base of every type spec."""

    @property
    def name(self) -> str:
        return type(self).__name__.lower()


@dataclass(frozen=True)
class AnyValue(Spec):
    """Not checked further (a section another validator owns, or free-form)."""
    name_: str = "any value"

    @property
    def name(self) -> str:
        return self.name_


@dataclass(frozen=True)
class Str(Spec):
    @property
    def name(self) -> str:
        return "a string"


@dataclass(frozen=True)
class Bool(Spec):
    @property
    def name(self) -> str:
        return "a boolean (true or false)"


INT64 = (-2 ** 63, 2 ** 63 - 1)      # Go's int on the collector's 64-bit platforms


@dataclass(frozen=True)
class Int(Spec):
    """A Go integer: `int` (int64) unless `min`/`max` say narrower; a value outside its range does not
    decode, and the collector does not start."""
    min: Optional[int] = None
    max: Optional[int] = None

    @property
    def name(self) -> str:
        return "an integer"

    @property
    def bounds(self) -> Tuple[int, int]:
        return (INT64[0] if self.min is None else self.min, INT64[1] if self.max is None else self.max)


@dataclass(frozen=True)
class Float(Spec):
    min: Optional[float] = None
    max: Optional[float] = None

    @property
    def name(self) -> str:
        return "a number"


@dataclass(frozen=True)
class Duration(Spec):
    """Go's time.Duration as mapstructure decodes it: a string for time.ParseDuration, or an integer
    (nanoseconds)."""
    min_ns: Optional[int] = None

    @property
    def name(self) -> str:
        return "a duration (e.g. 5s, 200ms)"


@dataclass(frozen=True)
class Enum(Spec):
    values: Tuple[str, ...] = ()
    case_insensitive: bool = False

    @property
    def name(self) -> str:
        return "one of " + ", ".join(v or '""' for v in self.values)


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec = field(default_factory=AnyValue)

    @property
    def name(self) -> str:
        return "a list"


@dataclass(frozen=True)
class MapOf(Spec):
    value: Spec = field(default_factory=AnyValue)

    @property
    def name(self) -> str:
        return "a mapping"


@dataclass(frozen=True)
class Since(Spec):
    """A key that exists only from `version` on (older collectors refuse it as unknown)."""
    version: Version = (0, 0)
    spec: Spec = field(default_factory=AnyValue)

    @property
    def name(self) -> str:
        return self.spec.name


# A rule over a whole mapping: (value, emit) -> None; emit(key_or_None, message, hint="", severity="error").
Rule = Callable[[dict, Callable[..., None]], None]


@dataclass(frozen=True)
class Obj(Spec):
    """A Go struct: only `fields` are allowed (squashed embedded structs are merged into `fields`)."""
    fields: Dict[str, Spec] = field(default_factory=dict)
    required: Tuple[str, ...] = ()
    rules: Tuple[Rule, ...] = ()
    nullable: bool = True      # `grpc:` with nothing under it is an empty struct, as the collector reads it

    @property
    def name(self) -> str:
        return "a mapping"

    def extend(self, fields: Optional[Dict[str, Spec]] = None, required: Sequence[str] = (),
               rules: Sequence[Rule] = ()) -> "Obj":
        merged = dict(self.fields)
        merged.update(fields or {})
        return Obj(merged, tuple(self.required) + tuple(required), tuple(self.rules) + tuple(rules),
                   self.nullable)


def obj(required: Sequence[str] = (), rules: Sequence[Rule] = (), **fields: Spec) -> Obj:
    return Obj(dict(fields), tuple(required), tuple(rules))


@dataclass(frozen=True)
class Component:
    """A component type's schema and the signals its pipelines may carry."""
    schema: Obj
    signals: Tuple[str, ...] = ("traces", "metrics", "logs")
    source: str = ""      # the Go config struct this schema is taken from


def signals_all() -> Tuple[str, ...]:
    return ("traces", "metrics", "logs")


def field_names(spec: Any) -> List[str]:
    return sorted(spec.fields) if isinstance(spec, Obj) else []
