"""Prometheus 3.x `relabel_configs` semantics (pure), as `model/relabel/relabel.go` implements them.

A label set is a plain dict {name: value}; an absent label and an empty value are the same thing, so no
value is ever stored empty. `compile_rules` validates and compiles a job's rules once (regexes through
`re2`, replacement templates pre-parsed); `Rules.process(labels)` mutates the dict in place and returns
None when the target is kept, or the Rule that dropped it.

Speed: relabeling runs for every container port of every pod, for every job. Each compiled rule keeps
bounded memo tables (value -> keep?, label name -> labelmap result, ...), because the same label names
and most of the same values come back for every pod.
"""
from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from .re2 import AnchoredRegex, RE2Error, compile_anchored

MAX_MODULUS = 2 ** 64 - 1     # relabel.Config.Modulus is a uint64
ACTIONS = ("replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap", "labeldrop",
           "labelkeep", "lowercase", "uppercase")
DEFAULT_REGEX = "(.*)"
DEFAULT_SEPARATOR = ";"
DEFAULT_REPLACEMENT = "$1"
MEMO_LIMIT = 1 << 16
_MISSING = object()

class RelabelConfigError(ValueError):
    """A relabel rule Prometheus would refuse (so the collector would not start), or one we cannot
    translate. The message names the job and the rule."""


# -- Go template expansion (regexp.Expand) ---------------------------------------------------------
# Literal text, a capture index, the indexes of a name used by several groups (the first that took
# part in the match wins, as in Go), or None (expands to "").
Template = Tuple[Union[str, int, Tuple[int, ...], None], ...]


def _name_char(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdecimal()


def parse_template(template: str, regex: AnchoredRegex) -> Template:
    """Split a Go `regexp.Expand` template into literal text and capture references, once.

    `$name` takes the longest run of letters, digits and `_` (so `$1_x` is group `1_x`), `${name}` the
    braced one; a number is a group index (no leading zeros), anything else a group name; an unknown
    group expands to ""; `$$` is `$`; a `$` not followed by a valid name stays literal.
    """
    parts: List[Union[str, int, None]] = []
    literal: List[str] = []
    i, n = 0, len(template)
    while i < n:
        dollar = template.find("$", i)
        if dollar < 0:
            literal.append(template[i:])
            break
        literal.append(template[i:dollar])
        i = dollar + 1
        if i < n and template[i] == "$":
            literal.append("$")
            i += 1
            continue
        brace = i < n and template[i] == "{"
        j = i + 1 if brace else i
        k = j
        while k < n and _name_char(template[k]):
            k += 1
        name = template[j:k]
        if not name or (brace and (k >= n or template[k] != "}")):
            literal.append("$")       # malformed: the `$` is literal, scanning resumes after it
            continue
        i = k + 1 if brace else k
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_group_ref(name, regex))
    if literal:
        parts.append("".join(literal))
    return tuple(p for p in parts if p != "")


def _group_ref(name: str, regex: AnchoredRegex) -> Union[int, Tuple[int, ...], None]:
    num = -1
    if name.isascii() and name.isdigit() and not (len(name) > 1 and name[0] == "0"):
        num = int(name) if len(name) <= 8 else -1
    if num >= 0:
        return num if num <= regex.groups else None
    indexes = regex.group_names.get(name)
    if not indexes:
        return None
    return indexes[0] if len(indexes) == 1 else tuple(indexes)


def expand(template: Template, match) -> str:
    if len(template) == 1 and isinstance(template[0], str):
        return template[0]
    out = []
    for part in template:
        if part is None:
            continue
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, tuple):
            for index in part:
                value = match.group(index)
                if value is not None:
                    out.append(value)
                    break
        else:
            value = match.group(part)
            if value:
                out.append(value)
    return "".join(out)


def has_var(template: str) -> bool:
    return "$" in template


# -- Go's simple case mapping ----------------------------------------------------------------------
# Python's str.upper/lower apply full case mappings (ß -> SS, İ -> i̇); Go's strings.ToUpper/ToLower map
# each rune alone with the simple mapping. Characters whose full mapping is several characters keep
# themselves in Go unless UnicodeData gives a simple mapping, listed here.
_SIMPLE_UPPER = {**{c: c + 8 for base in (0x1F80, 0x1F90, 0x1FA0) for c in range(base, base + 8)},
                 0x1FB3: 0x1FBC, 0x1FC3: 0x1FCC, 0x1FF3: 0x1FFC}
_SIMPLE_LOWER = {0x130: 0x69}


def go_upper(text: str) -> str:
    if text.isascii():
        return text.upper()
    out = []
    for ch in text:
        mapped = ch.upper()
        if len(mapped) != 1:
            mapped = chr(_SIMPLE_UPPER.get(ord(ch), ord(ch)))
        out.append(mapped)
    return "".join(out)


def go_lower(text: str) -> str:
    if text.isascii():
        return text.lower()
    out = []
    for ch in text:
        mapped = ch.lower()
        if len(mapped) != 1:
            mapped = chr(_SIMPLE_LOWER.get(ord(ch), ord(ch)))
        out.append(mapped)
    return "".join(out)


def hashmod(value: str, modulus: int) -> int:
    return int.from_bytes(hashlib.md5(value.encode("utf-8")).digest()[8:], "big") % modulus


def valid_label_name(name: str) -> bool:
    """Prometheus 3.x (UTF-8 names): any non-empty valid UTF-8 string."""
    if not name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- rules -----------------------------------------------------------------------------------------
@dataclass
class Rule:
    index: int                      # 1-based position in the job's relabel_configs
    action: str
    source_labels: Tuple[str, ...]
    separator: str
    regex_text: str
    regex: AnchoredRegex
    modulus: int
    target_label: str
    replacement: str
    raw: dict = field(default_factory=dict)
    apply: Callable[[Dict[str, str]], bool] = field(default=None, repr=False)   # type: ignore[assignment]
    # labelmap steps that mapped two labels with different values onto one name (Prometheus picks at
    # random): (target name, [source names])
    ambiguities: Set[Tuple[str, Tuple[str, ...]]] = field(default_factory=set, repr=False)
    # fields holding a `${env:VAR}` whose value is unknown -> those references; `skipped`: the rule's
    # outcome depends on them, so it is not applied (it never drops a target)
    env: Dict[str, List[str]] = field(default_factory=dict, repr=False)
    skipped: bool = False

    def describe(self) -> str:
        """`rule 3 (keep [__meta_kubernetes_pod_phase] =~ Pending|Running)` style, for messages."""
        bits = [self.action]
        if self.source_labels:
            bits.append("[" + ", ".join(self.source_labels) + "]")
        if self.action in ("keep", "drop", "replace", "labelmap", "labeldrop", "labelkeep"):
            bits.append(f"regex {self.regex_text!r}")
        if self.action in ("keepequal", "dropequal", "replace", "hashmod", "lowercase", "uppercase"):
            bits.append(f"target_label {self.target_label!r}")
        return f"rule {self.index} ({' '.join(bits)})"

    def joined(self, labels: Dict[str, str]) -> str:
        if len(self.source_labels) == 1:
            return labels.get(self.source_labels[0], "")
        return self.separator.join([labels.get(name, "") for name in self.source_labels])


class Rules(list):
    """A job's compiled relabel rules."""

    def process(self, labels: Dict[str, str]) -> Optional[Rule]:
        """Apply every rule in order to `labels` (mutated). None: kept; else the rule that dropped it."""
        for rule in self:
            if not rule.apply(labels):
                return rule
        return None

    def trace(self, labels: Dict[str, str]) -> List[Tuple[Rule, Dict[str, str], bool]]:
        """Each rule with the labels it saw and whether the target survived it (for explanations)."""
        steps = []
        for rule in self:
            before = dict(labels)
            keep = rule.apply(labels)
            steps.append((rule, before, keep))
            if not keep:
                break
        return steps


def _text(value: Any, what: str, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RelabelConfigError(f"{where}: {what} must be a string, not {type(value).__name__}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


# Fields whose value decides whether a rule matches (or drops): a rule with an unknown `${env:VAR}` in
# one of them is not applied. In the others (replacement, the target of a replace) the text is kept.
_DECIDING = {"action", "source_labels", "separator", "regex", "modulus"}
_DROPPING = ("keep", "drop", "keepequal", "dropequal")


def compile_rule(raw: dict, index: int, where: str, env: Optional[Dict[str, List[str]]] = None) -> Rule:
    """One relabel_config dict (already `$$`-unescaped) -> Rule. Raises RelabelConfigError.

    `env`: the fields holding a `${env:VAR}` reference whose value is unknown (field -> references).
    When the rule's outcome depends on one (its action, source labels, separator, regex, modulus, or
    the label a keepequal/dropequal compares with), the rule is `skipped`: compiled as far as possible,
    never applied."""
    here = f"{where}, relabel rule {index}"
    if not isinstance(raw, dict):
        raise RelabelConfigError(f"{here}: a relabel rule must be a mapping")
    env = {k: v for k, v in (env or {}).items() if v}
    known = {"source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"}
    unknown = sorted(str(k) for k in set(raw) - known)
    if unknown:
        guess = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.75)
        raise RelabelConfigError(f"{here}: field {unknown[0]} not found in type relabel.plain"
                                 + (f" (did you mean {guess[0]}?)" if guess else ""))
    if "action" in env:
        action = str(raw.get("action"))
        rule = Rule(index, action, (), DEFAULT_SEPARATOR, DEFAULT_REGEX, compile_anchored(DEFAULT_REGEX), 0,
                    "", DEFAULT_REPLACEMENT, raw=dict(raw), env=env, skipped=True)
        rule.apply = _never_drops
        return rule
    action = _text(raw.get("action", "replace"), "action", here).lower() if "action" in raw else "replace"
    if action == "":
        raise RelabelConfigError(f"{here}: relabel action cannot be empty")
    if action not in ACTIONS:
        raise RelabelConfigError(f"{here}: unknown relabel action {raw.get('action')!r}")
    sources = raw.get("source_labels")
    if sources is None:
        sources = []
    if not isinstance(sources, list):
        raise RelabelConfigError(f"{here}: source_labels must be a list")
    source_labels = tuple(_text(s, "source_labels entry", here) for s in sources)
    for name in source_labels:
        if not valid_label_name(name):
            raise RelabelConfigError(f"{here}: {name!r} is not a valid label name")
    separator = _text(raw["separator"], "separator", here) if "separator" in raw and raw["separator"] is not None \
        else DEFAULT_SEPARATOR
    regex_given = "regex" in raw and raw["regex"] is not None
    regex_text = _text(raw["regex"], "regex", here) if regex_given else DEFAULT_REGEX
    try:
        regex = compile_anchored(DEFAULT_REGEX if "regex" in env else regex_text)
    except RE2Error as exc:
        raise RelabelConfigError(f"{here}: {exc}") from None
    modulus_raw = raw.get("modulus", 0) or 0
    if "modulus" in env:
        modulus_raw = 1
    if isinstance(modulus_raw, bool) or not isinstance(modulus_raw, int) or modulus_raw < 0:
        raise RelabelConfigError(f"{here}: modulus must be a non-negative integer")
    modulus = int(modulus_raw)
    if modulus > MAX_MODULUS:
        raise RelabelConfigError(f"{here}: modulus {modulus} is out of range: Prometheus reads it as an unsigned "
                                 f"64-bit integer (at most {MAX_MODULUS})")
    target = _text(raw.get("target_label"), "target_label", here)
    replacement = _text(raw["replacement"], "replacement", here) if "replacement" in raw and \
        raw["replacement"] is not None else DEFAULT_REPLACEMENT

    # Validation, as relabel.Config.Validate in Prometheus 3.5.
    if action == "hashmod" and modulus == 0:
        raise RelabelConfigError(f"{here}: relabel configuration for hashmod requires non-zero modulus")
    if action in ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal") and not target:
        raise RelabelConfigError(f"{here}: relabel configuration for {action} action requires "
                                 f"'target_label' value")
    # Prometheus 3.5 validates label names as UTF-8: any non-empty name; a target_label with `$`
    # references is only checked once expanded, per target.
    if action == "replace" and not has_var(target) and not valid_label_name(target):
        raise RelabelConfigError(f"{here}: {target!r} is invalid 'target_label' for {action} action")
    if action in ("lowercase", "uppercase", "keepequal", "dropequal", "hashmod") and not valid_label_name(target):
        raise RelabelConfigError(f"{here}: {target!r} is invalid 'target_label' for {action} action")
    if action in ("lowercase", "uppercase", "keepequal", "dropequal") and replacement != DEFAULT_REPLACEMENT:
        raise RelabelConfigError(f"{here}: 'replacement' can not be set for {action} action")
    if action == "labelmap" and not valid_label_name(replacement):
        raise RelabelConfigError(f"{here}: {replacement!r} is invalid 'replacement' for {action} action")
    if action in ("keepequal", "dropequal") and (regex_given or modulus
                                                 or separator != DEFAULT_SEPARATOR
                                                 or replacement != DEFAULT_REPLACEMENT):
        raise RelabelConfigError(f"{here}: {action} action requires only 'source_labels' and "
                                 f"`target_label`, and no other fields")
    if action in ("labeldrop", "labelkeep") and ("source_labels" in raw and raw["source_labels"] is not None
                                                 or target or modulus or separator != DEFAULT_SEPARATOR
                                                 or replacement != DEFAULT_REPLACEMENT):
        raise RelabelConfigError(f"{here}: {action} action requires only 'regex', and no other fields")

    rule = Rule(index, action, source_labels, separator, regex_text, regex, modulus, target, replacement,
                raw=dict(raw), env=env)
    deciding = set(env) & _DECIDING
    if action in ("keepequal", "dropequal") and "target_label" in env:
        deciding.add("target_label")
    if deciding:
        rule.skipped = True
        rule.apply = _never_drops
    else:
        rule.apply = _make_apply(rule, regex_given)
    return rule


def _never_drops(_labels: Dict[str, str]) -> bool:
    return True


def compile_rules(raws: Optional[Sequence[dict]], where: str = "job",
                  env: Optional[Sequence[Dict[str, List[str]]]] = None) -> Rules:
    """A job's relabel_configs compiled; `env[i]` as `compile_rule`'s `env` for rule i+1."""
    if raws is None:
        return Rules()
    if not isinstance(raws, list):
        raise RelabelConfigError(f"{where}: relabel_configs must be a list")
    env = list(env or [])
    return Rules(compile_rule(raw, i + 1, where, env[i] if i < len(env) else None)
                 for i, raw in enumerate(raws))


def _make_apply(rule: Rule, regex_given: bool) -> Callable[[Dict[str, str]], bool]:
    action = rule.action
    fullmatch = rule.regex.compiled.fullmatch
    joined = rule.joined
    target = rule.target_label

    if action in ("keep", "drop"):
        memo: Dict[str, bool] = {}
        want = action == "keep"

        def apply_keep_drop(labels: Dict[str, str]) -> bool:
            value = joined(labels)
            matched = memo.get(value)
            if matched is None:
                matched = fullmatch(value) is not None
                if len(memo) < MEMO_LIMIT:
                    memo[value] = matched
            return matched is want
        return apply_keep_drop

    if action in ("keepequal", "dropequal"):
        want_equal = action == "keepequal"

        def apply_equal(labels: Dict[str, str]) -> bool:
            return (labels.get(target, "") == joined(labels)) is want_equal
        return apply_equal

    if action == "replace":
        target_has_var = has_var(rule.target_label)
        target_tpl = parse_template(rule.target_label, rule.regex)
        repl_tpl = parse_template(rule.replacement, rule.regex)
        memo_r: Dict[str, Any] = {}

        def apply_replace(labels: Dict[str, str]) -> bool:
            value = joined(labels)
            result = memo_r.get(value, _MISSING)
            if result is _MISSING:
                m = fullmatch(value)
                if m is None:
                    result = None
                else:
                    name = expand(target_tpl, m) if target_has_var else target
                    result = (name, expand(repl_tpl, m)) if valid_label_name(name) else None
                if len(memo_r) < MEMO_LIMIT:
                    memo_r[value] = result
            if result is not None:
                name, new = result
                if new:
                    labels[name] = new
                else:
                    labels.pop(name, None)
            return True
        return apply_replace

    if action in ("lowercase", "uppercase"):
        convert = go_lower if action == "lowercase" else go_upper

        def apply_case(labels: Dict[str, str]) -> bool:
            new = convert(joined(labels))
            if new:
                labels[target] = new
            else:
                labels.pop(target, None)
            return True
        return apply_case

    if action == "hashmod":
        modulus = rule.modulus

        def apply_hashmod(labels: Dict[str, str]) -> bool:
            labels[target] = str(hashmod(joined(labels), modulus))
            return True
        return apply_hashmod

    if action == "labelmap":
        repl_tpl = parse_template(rule.replacement, rule.regex)
        memo_m: Dict[str, Optional[str]] = {}

        def mapped(name: str) -> Optional[str]:
            result = memo_m.get(name, _MISSING)
            if result is _MISSING:
                m = fullmatch(name)
                result = None if m is None else expand(repl_tpl, m)
                if len(memo_m) < MEMO_LIMIT:
                    memo_m[name] = result
            return result  # type: ignore[return-value]

        memo_get = memo_m.get

        def apply_labelmap(labels: Dict[str, str]) -> bool:
            writes: List[Tuple[str, str, str]] = []
            for name, value in labels.items():
                new = memo_get(name, _MISSING)
                if new is _MISSING:
                    new = mapped(name)
                if new is not None:
                    writes.append((new, value, name))
            if not writes:
                return True
            if len(writes) == 1:
                new, value, _ = writes[0]
                labels[new] = value
                return True
            seen: Dict[str, Tuple[str, str]] = {}
            for new, value, source in writes:
                previous = seen.get(new)
                if previous is not None and previous[0] != value:
                    # Prometheus ranges over the labels in a random order: either value may win.
                    rule.ambiguities.add((new, tuple(sorted((previous[1], source)))))
                seen[new] = (value, source)
                labels[new] = value
            return True
        return apply_labelmap

    if action in ("labeldrop", "labelkeep"):
        memo_d: Dict[str, bool] = {}
        drop_if = action == "labeldrop"

        memo_d_get = memo_d.get

        def apply_labeldrop(labels: Dict[str, str]) -> bool:
            doomed = []
            for name in labels:
                matched = memo_d_get(name)
                if matched is None:
                    matched = fullmatch(name) is not None
                    if len(memo_d) < MEMO_LIMIT:
                        memo_d[name] = matched
                if matched is drop_if:
                    doomed.append(name)
            for name in doomed:
                del labels[name]
            return True
        return apply_labeldrop

    raise AssertionError(action)
