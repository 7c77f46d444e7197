"""RE2 (Go `regexp`) patterns translated to Python `re`, with Go's semantics (pure).

Prometheus compiles every relabel regex with Go's `regexp` package; Python's `re` differs in ways that
change results: `$` matches before a trailing newline, `\\s` includes `\\v`, `a{,3}` is a repetition,
`(?i)` may stand mid-pattern, `\\pL`, `[[:alpha:]]` and `\\Q...\\E` do not exist, lookarounds and
backreferences are accepted. So this module parses the RE2 syntax itself (following Go's
`regexp/syntax` parser with the Perl flags that `regexp.Compile` uses) and emits an equivalent Python
pattern made only of constructs whose meaning is the same in both.

What Go rejects is rejected here too (`RE2Error`), with the same kind of message: backreferences,
lookarounds, possessive and atomic groups, `\\Z`, unknown escapes, repeat counts over 1000.
What cannot be translated faithfully (Unicode scripts such as `\\p{Greek}`: Python's `unicodedata`
does not know scripts) is refused with a message saying so.

Entry points: `compile_anchored(pattern)` gives a compiled Python regex for `^(?s:pattern)$` (what
Prometheus 3.x builds; use `.fullmatch`), plus the capture-group names for template expansion.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .linear import LinearRegex, backtracking_safe

MAX_REPEAT = 1000
# Go allows 1000 levels of nesting; our recursive parser and emitter stop earlier, with an error.
MAX_NESTING = 150
MAX_RUNE = 0x10FFFF

# Flags, as Go's parser tracks them.
FOLD = 1        # (?i)
MULTILINE = 2   # (?m): ^ and $ at line boundaries (Go: OneLine cleared)
DOTNL = 4       # (?s)
UNGREEDY = 8    # (?U)


class RE2Error(ValueError):
    """The pattern is invalid for Go's regexp, or cannot be translated faithfully."""


Ranges = List[Tuple[int, int]]

_PERL = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}
_POSIX = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
               "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cs"}
_category_cache: Dict[str, Ranges] = {}


# -- character ranges ------------------------------------------------------------------------------
def _normalize(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _negate(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _normalize(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_RUNE:
        out.append((nxt, MAX_RUNE))
    return out


def _unicode_class(name: str) -> Ranges:
    """Ranges of a Unicode general category (`L`, `Lu`, ...) or `Any`, from Python's unicodedata."""
    if name == "Any":
        return [(0, MAX_RUNE)]
    if name in _category_cache:
        return _category_cache[name]
    if not (name in _CATEGORIES or (len(name) == 1 and any(c.startswith(name) for c in _CATEGORIES))):
        raise RE2Error(f"invalid or untranslatable character class \\p{{{name}}}: only Unicode general "
                       f"categories (L, Lu, N, Nd, P, S, Z, C, ...) and Any can be translated; scripts "
                       f"such as Greek or Han cannot")
    ranges: Ranges = []
    start = None
    category = unicodedata.category
    for code in range(MAX_RUNE + 2):
        ok = code <= MAX_RUNE and category(chr(code)) != "Cn" and category(chr(code)).startswith(name)
        if ok and start is None:
            start = code
        elif not ok and start is not None:
            ranges.append((start, code - 1))
            start = None
    _category_cache[name] = ranges
    return ranges


def _char(code: int, in_class: bool = False) -> str:
    c = chr(code)
    if c.isascii() and (c.isalnum() or c == "_"):
        return c
    if 0x21 <= code <= 0x7E:
        return "\\" + c        # escaped ASCII punctuation is always literal in Python
    if code < 0x10000:
        return "\\u%04x" % code
    return "\\U%08x" % code


def _class_text(ranges: Ranges, negated: bool = False) -> str:
    parts = []
    for lo, hi in _normalize(ranges):
        if lo == hi:
            parts.append(_char(lo, True))
        elif hi == lo + 1:
            parts.append(_char(lo, True) + _char(hi, True))
        else:
            parts.append(_char(lo, True) + "-" + _char(hi, True))
    if not parts:
        # An empty class matches nothing; its negation everything.
        return "(?s:.)" if negated else "(?!)"
    return ("[^" if negated else "[") + "".join(parts) + "]"


def _has_case(code: int) -> bool:
    c = chr(code)
    return c.lower() != c or c.upper() != c or c.casefold() != c or code in (0x212A, 0x17F, 0x212B)


# -- AST -------------------------------------------------------------------------------------------
@dataclass
class _Node:
    kind: str                         # lit | class | any | assert | group | concat | alt | repeat | empty
    value: object = None              # lit: code; class: (ranges, negated); assert: text
    flags: int = 0
    children: List["_Node"] = field(default_factory=list)
    capture: int = 0                  # group: capture index (0: non-capturing)
    min: int = 0
    max: int = -1
    greedy: bool = True


@dataclass
class Translation:
    source: str
    python: str
    group_names: Dict[str, List[int]]     # capture name -> indexes (Go allows a name twice)
    groups: int                       # number of capture groups
    tree: Optional[_Node] = None      # the parsed pattern (for the linear-time engine)


class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.ncap = 0
        self.names: Dict[str, List[int]] = {}

    # -- helpers -----------------------------------------------------------------------------------
    def error(self, message: str) -> RE2Error:
        return RE2Error(f"{message} in regex {self.s!r}")

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def more(self) -> bool:
        return self.i < len(self.s)

    # -- grammar -----------------------------------------------------------------------------------
    def parse(self, flags: int) -> _Node:
        node, _ = self.parse_alt(flags, depth=0)
        if self.more():
            raise self.error("unexpected )")
        return node

    def parse_alt(self, flags: int, depth: int) -> Tuple[_Node, int]:
        branches: List[_Node] = []
        while True:
            seq, flags = self.parse_seq(flags, depth)
            branches.append(seq)
            if self.peek() == "|":
                self.i += 1
                continue
            break
        if len(branches) == 1:
            return branches[0], flags
        return _Node("alt", children=branches), flags

    def parse_seq(self, flags: int, depth: int) -> Tuple[_Node, int]:
        items: List[_Node] = []
        last_repeat = False
        while self.more():
            c = self.peek()
            if c == "|":
                break
            if c == ")":
                if depth == 0:
                    raise self.error("unexpected )")
                break
            if c in "*+?" or (c == "{" and self._repeat_spec() is not None):
                if c == "{":
                    lo, hi, length = self._repeat_spec()
                    text = self.s[self.i:self.i + length]
                    self.i += length
                    if lo > MAX_REPEAT or hi > MAX_REPEAT or (hi >= 0 and lo > hi) or lo < 0:
                        raise self.error(f"invalid repeat count {text}")
                else:
                    text = c
                    self.i += 1
                    lo, hi = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}[c]
                greedy = not (flags & UNGREEDY)
                if self.peek() == "?":
                    self.i += 1
                    greedy = not greedy
                    text += "?"
                if last_repeat:
                    raise self.error(f"invalid nested repetition operator {text!r}")
                if not items:
                    raise self.error(f"missing argument to repetition operator {text!r}")
                items[-1] = _Node("repeat", children=[items[-1]], min=lo, max=hi, greedy=greedy)
                last_repeat = True
                continue
            last_repeat = False
            if c == "(":
                node, flags = self.parse_group(flags, depth)
                if node is not None:
                    items.append(node)
                continue
            if c == "[":
                items.append(self.parse_class(flags))
                continue
            if c == ".":
                self.i += 1
                items.append(_Node("any", flags=flags))
                continue
            if c == "^":
                self.i += 1
                items.append(_Node("assert", value="^", flags=flags))
                continue
            if c == "$":
                self.i += 1
                items.append(_Node("assert", value="$", flags=flags))
                continue
            if c == "\\":
                items.extend(self.parse_escape_atom(flags))
                continue
            self.i += 1
            items.append(_Node("lit", value=ord(c), flags=flags))
        if not items:
            return _Node("empty"), flags
        if len(items) == 1:
            return items[0], flags
        return _Node("concat", children=items), flags

    def _repeat_spec(self) -> Optional[Tuple[int, int, int]]:
        """`{n}`, `{n,}`, `{n,m}` at the cursor as Go parses them (no leading zeros); else None."""
        m = re.match(r"\{(\d+)(,(\d*))?\}", self.s[self.i:])
        if not m:
            return None
        for digits in (m.group(1), m.group(3)):
            if digits and len(digits) > 1 and digits[0] == "0":
                return None
        lo = int(m.group(1)) if len(m.group(1)) <= 8 else MAX_REPEAT + 1
        if m.group(2) is None:
            hi = lo
        elif m.group(3) == "":
            hi = -1
        else:
            hi = int(m.group(3)) if len(m.group(3)) <= 8 else MAX_REPEAT + 1
        return lo, hi, m.end()

    def parse_group(self, flags: int, depth: int) -> Tuple[Optional[_Node], int]:
        start = self.i
        rest = self.s[self.i:]
        if rest.startswith("(?"):
            if rest.startswith("(?P="):
                raise self.error("invalid named capture (backreferences are not supported)")
            named = rest.startswith("(?P<") or (rest.startswith("(?<") and len(rest) > 3)
            if named:
                begin = 4 if rest.startswith("(?P<") else 3
                end = rest.find(">")
                if end < 0:
                    what = " (lookbehind is not supported)" if rest.startswith(("(?<=", "(?<!")) else ""
                    raise self.error(f"invalid named capture {rest!r}{what}")
                name = rest[begin:end]
                if not name or not all(ch == "_" or (ch.isascii() and ch.isalnum()) for ch in name):
                    what = "lookbehind is not supported" if name[:1] in ("=", "!") else "invalid name"
                    raise self.error(f"invalid named capture {rest[:end + 1]!r} ({what})")
                self.i += end + 1
                self.ncap += 1
                index = self.ncap
                self.names.setdefault(name, []).append(index)   # Go accepts duplicate names
                return self._group_body(flags, depth, index), flags
            # Flags: (?flags) or (?flags:re)
            j = self.i + 2
            new = flags
            sign = 1
            saw = False
            while j < len(self.s):
                ch = self.s[j]
                j += 1
                bit = {"i": FOLD, "m": MULTILINE, "s": DOTNL, "U": UNGREEDY}.get(ch)
                if bit is not None:
                    new = (new | bit) if sign > 0 else (new & ~bit)
                    saw = True
                    continue
                if ch == "-":
                    if sign < 0:
                        break
                    sign = -1
                    saw = False
                    continue
                if ch in ":)":
                    if sign < 0 and not saw:
                        break
                    self.i = j
                    if ch == ")":
                        return None, new
                    return self._group_body(new, depth, 0), flags
                break
            snippet = self.s[start:j]
            hint = ""
            if snippet.startswith(("(?=", "(?!", "(?<=", "(?<!")):
                hint = " (lookaround assertions are not supported)"
            elif snippet.startswith("(?>"):
                hint = " (atomic groups are not supported)"
            elif snippet.startswith("(?#"):
                hint = " (comments are not supported)"
            raise self.error(f"invalid or unsupported Perl syntax {snippet!r}{hint}")
        self.i += 1
        self.ncap += 1
        return self._group_body(flags, depth, self.ncap), flags

    def _group_body(self, flags: int, depth: int, capture: int) -> _Node:
        if depth >= MAX_NESTING:
            raise self.error(f"expression nests too deeply (more than {MAX_NESTING} groups)")
        body, _ = self.parse_alt(flags, depth + 1)
        if self.peek() != ")":
            raise self.error("missing closing )")
        self.i += 1
        return _Node("group", children=[body], capture=capture)

    def parse_escape_atom(self, flags: int) -> List[_Node]:
        nxt = self.peek(1)
        if nxt == "":
            raise self.error("trailing backslash at end of expression")
        if nxt in "AbBz":
            self.i += 2
            return [_Node("assert", value="\\" + nxt, flags=flags)]
        if nxt == "Q":
            self.i += 2
            end = self.s.find("\\E", self.i)
            text = self.s[self.i:] if end < 0 else self.s[self.i:end]
            self.i = len(self.s) if end < 0 else end + 2
            return [_Node("lit", value=ord(ch), flags=flags) for ch in text]
        if nxt in "pP":
            ranges, negated = self.parse_unicode_class()
            return [_Node("class", value=(ranges, negated), flags=flags)]
        if nxt.lower() in _PERL:
            self.i += 2
            return [_Node("class", value=(_PERL[nxt.lower()], nxt.isupper()), flags=flags)]
        code = self.parse_escape()
        return [_Node("lit", value=code, flags=flags)]

    def parse_escape(self) -> int:
        """A single-character escape (after `\\`), as Go's parseEscape; the cursor is on the `\\`."""
        start = self.i
        self.i += 1
        if not self.more():
            raise self.error("trailing backslash at end of expression")
        c = self.s[self.i]
        self.i += 1
        if c.isascii() and not c.isalnum():
            return ord(c)
        if c in "1234567":
            if not (self.peek() and self.peek() in "01234567"):
                raise self.error(f"invalid escape sequence \\{c} (backreferences are not supported)")
        if c in "01234567":
            value = int(c)
            for _ in range(2):
                if self.peek() and self.peek() in "01234567":
                    value = value * 8 + int(self.peek())
                    self.i += 1
                else:
                    break
            return value
        if c == "x":
            if self.peek() == "{":
                end = self.s.find("}", self.i)
                digits = self.s[self.i + 1:end] if end >= 0 else ""
                if end < 0 or not digits or not all(d in "0123456789abcdefABCDEF" for d in digits) \
                        or int(digits, 16) > MAX_RUNE:
                    raise self.error(f"invalid escape sequence {self.s[start:end + 1 if end >= 0 else None]!r}")
                self.i = end + 1
                return int(digits, 16)
            digits = self.s[self.i:self.i + 2]
            if len(digits) == 2 and all(d in "0123456789abcdefABCDEF" for d in digits):
                self.i += 2
                return int(digits, 16)
            raise self.error(f"invalid escape sequence {self.s[start:self.i + 2]!r}")
        simple = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
        if c in simple:
            return simple[c]
        raise self.error(f"invalid escape sequence \\{c}")

    def parse_unicode_class(self) -> Tuple[Ranges, bool]:
        negated = self.peek(1) == "P"
        self.i += 2
        if not self.more():
            raise self.error("invalid character class range \\p")
        if self.peek() == "{":
            end = self.s.find("}", self.i)
            if end < 0:
                raise self.error(f"invalid character class range {self.s[self.i - 2:]!r}")
            name = self.s[self.i + 1:end]
            self.i = end + 1
        else:
            name = self.s[self.i]
            self.i += 1
        if name.startswith("^"):
            negated = not negated
            name = name[1:]
        return _unicode_class(name), negated

    def parse_class(self, flags: int) -> _Node:
        start = self.i
        self.i += 1
        negated = False
        if self.peek() == "^":
            negated = True
            self.i += 1
        ranges: Ranges = []
        first = True
        while first or self.peek() != "]":
            if not self.more():
                raise self.error(f"missing closing ] in {self.s[start:]!r}")
            first = False
            if self.s.startswith("[:", self.i):
                end = self.s.find(":]", self.i + 2)
                if end >= 0:
                    name = self.s[self.i + 2:end]
                    neg = name.startswith("^")
                    key = name[1:] if neg else name
                    if key not in _POSIX:
                        raise self.error(f"invalid character class range [:{name}:]")
                    ranges.extend(_negate(_POSIX[key]) if neg else _POSIX[key])
                    self.i = end + 2
                    continue
            if self.peek() == "\\" and self.peek(1) in ("p", "P") and self.peek(1) != "":
                sub, neg = self.parse_unicode_class()
                ranges.extend(_negate(sub) if neg else sub)
                continue
            if self.peek() == "\\" and self.peek(1) and self.peek(1).lower() in _PERL:
                sub = _PERL[self.peek(1).lower()]
                ranges.extend(_negate(sub) if self.peek(1).isupper() else sub)
                self.i += 2
                continue
            lo = self._class_char(start)
            hi = lo
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                hi = self._class_char(start)
                if hi < lo:
                    raise self.error(f"invalid character class range {chr(lo)}-{chr(hi)}")
            ranges.append((lo, hi))
        self.i += 1
        return _Node("class", value=(ranges, negated), flags=flags)

    def _class_char(self, start: int) -> int:
        if not self.more():
            raise self.error(f"missing closing ] in {self.s[start:]!r}")
        if self.peek() == "\\":
            return self.parse_escape()
        c = self.s[self.i]
        self.i += 1
        return ord(c)


# -- emitting Python -------------------------------------------------------------------------------
def _check_repeat_size(node: _Node, budget: int = MAX_REPEAT) -> None:
    """Go rejects nested repetitions whose counts multiply past 1000 (`(a{500}){3}`)."""
    if node.kind == "repeat":
        m = node.max if node.max >= 0 else node.min
        if m > budget:
            raise RE2Error("invalid repeat count: nested repetition too large")
        if m > 0:
            budget //= m
    for child in node.children:
        _check_repeat_size(child, budget)


def _emit(node: _Node) -> str:
    kind = node.kind
    if kind == "empty":
        return ""
    if kind == "lit":
        text = _char(node.value)
        if node.flags & FOLD and _has_case(node.value):
            return f"(?i:{text})"
        return text
    if kind == "class":
        ranges, negated = node.value
        if node.flags & FOLD:
            return f"(?i:{_class_text(ranges, negated)})"
        return _class_text(ranges, negated)
    if kind == "any":
        return "." if node.flags & DOTNL else "[^\\n]"
    if kind == "assert":
        text = node.value
        if text == "^":
            return "(?m:^)" if node.flags & MULTILINE else "\\A"
        if text == "$":
            return "(?m:$)" if node.flags & MULTILINE else "\\Z"
        if text == "\\z":
            return "\\Z"
        if text in ("\\b", "\\B"):
            return f"(?a:{text})"
        return text  # \A
    if kind == "group":
        body = _emit(node.children[0])
        return f"({body})" if node.capture else f"(?:{body})"
    if kind == "concat":
        return "".join(_emit(child) for child in node.children)
    if kind == "alt":
        return "|".join(_emit(child) for child in node.children)
    if kind == "repeat":
        child = node.children[0]
        inner = _emit(child)
        if not (child.kind in ("lit", "class", "any") or (child.kind == "group")) or inner.startswith("(?"):
            inner = f"(?:{inner})"
        if (node.min, node.max) == (0, -1):
            op = "*"
        elif (node.min, node.max) == (1, -1):
            op = "+"
        elif (node.min, node.max) == (0, 1):
            op = "?"
        elif node.max == -1:
            op = "{%d,}" % node.min
        elif node.min == node.max:
            op = "{%d}" % node.min
        else:
            op = "{%d,%d}" % (node.min, node.max)
        return inner + op + ("" if node.greedy else "?")
    raise AssertionError(kind)


def translate(pattern: str, flags: int = 0) -> Translation:
    """The Python equivalent of the RE2 `pattern` parsed with the given initial Go flags."""
    parser = _Parser(pattern)
    tree = parser.parse(flags)
    _check_repeat_size(tree)
    return Translation(pattern, _emit(tree), dict(parser.names), parser.ncap, tree)


@dataclass
class AnchoredRegex:
    """A relabel regex as Prometheus 3.x compiles it: `^(?s:RE)$`. Use `fullmatch`."""

    source: str
    compiled: "re.Pattern[str]"      # or a linear.LinearRegex: both have fullmatch(text).group(i)
    group_names: Dict[str, List[int]]
    groups: int

    def fullmatch(self, text: str):
        return self.compiled.fullmatch(text)


_anchored_cache: Dict[Tuple[str, str], AnchoredRegex] = {}


def compile_anchored(pattern: str, engine: str = "auto") -> AnchoredRegex:
    """`^(?s:pattern)$` as Prometheus 3.x builds it, compiled to Python. Raises RE2Error.

    `engine`: "auto" runs Python's `re` only where it cannot backtrack exponentially and the
    linear-time matcher (linear.py) everywhere else; "re" and "linear" force one (for tests)."""
    cached = _anchored_cache.get((pattern, engine))
    if cached is not None:
        return cached
    key = (pattern, engine)
    tr = translate(pattern, DOTNL)
    try:
        compiled = re.compile(tr.python, re.DOTALL)
    except re.error as exc:  # a construct we emitted that Python still rejects: say so, do not guess
        raise RE2Error(f"cannot translate regex {pattern!r} to Python: {exc}") from None
    if engine == "linear" or (engine == "auto" and not backtracking_safe(tr.tree)):
        compiled = LinearRegex(tr.tree, tr.groups, _emit)
    result = AnchoredRegex(pattern, compiled, tr.group_names, tr.groups)
    if len(_anchored_cache) < 4096:
        _anchored_cache[key] = result
    return result
