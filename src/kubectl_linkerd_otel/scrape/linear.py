"""A linear-time matcher for relabel regexes (pure): Go's RE2 never backtracks, Python's `re` does.

Python's `re` takes exponential time on patterns such as `(a+)+b` against a long value, where
Prometheus (RE2) answers at once. Patterns that cannot blow up (at most one variable repetition and
nothing repeated inside a repetition) keep Python's `re`, which is fast; every other pattern runs here:
a Pike VM (Thompson NFA simulation with capture slots, as RE2 and Go's `regexp` run it) over the RE2
syntax tree of re2.py. Time is O(len(text) * len(program)), whatever the pattern.

Threads are kept in priority order, so the submatches are the leftmost-first (Perl) ones that Go
reports. Each character class is decided by Python's `re` on that one character (the same translation
re2.py emits), so both engines agree on what a character matches, case folding included.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Tuple

_CHAR, _SPLIT, _JMP, _SAVE, _ASSERT, _MATCH = range(6)
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_PER_CLASS_MEMO = 4096


def backtracking_safe(node) -> bool:
    """True when Python's backtracking `re` cannot blow up on the pattern: no repetition inside a
    repetition, no alternation inside a variable repetition, at most one variable repetition."""
    variable = [0]

    def walk(n, inside_repeat: bool) -> bool:
        if n.kind == "repeat":
            if inside_repeat:
                return False
            if n.max != n.min:
                variable[0] += 1
                if _has(n.children[0], "alt"):
                    return False
            return all(walk(c, True) for c in n.children)
        return all(walk(c, inside_repeat) for c in n.children)

    return walk(node, False) and variable[0] <= 1


def _has(node, kind: str) -> bool:
    return node.kind == kind or any(_has(c, kind) for c in node.children)


class LinearMatch:
    """What relabeling reads of a match: `group(i)` (None for a group that did not take part)."""

    __slots__ = ("_text", "_caps")

    def __init__(self, text: str, caps: Tuple[int, ...]):
        self._text = text
        self._caps = caps

    def group(self, index: int = 0) -> Optional[str]:
        if index == 0:
            return self._text
        slot = 2 * index
        if slot + 1 >= len(self._caps):
            raise IndexError("no such group")
        start, end = self._caps[slot], self._caps[slot + 1]
        if start < 0 or end < 0:
            return None
        return self._text[start:end]


class LinearRegex:
    """A compiled program; `fullmatch(text)` as `re.Pattern.fullmatch` (only `group` on the result)."""

    def __init__(self, tree, groups: int, emit: Callable):
        self.groups = groups
        self._prog: List[tuple] = []
        self._preds: List[Callable[[str], bool]] = []
        self._pred_of: Dict[int, int] = {}      # id(node) -> predicate: `x{500}` shares one
        self._emit = emit
        self._compile(tree)
        self._prog.append((_MATCH,))

    # -- compiling ---------------------------------------------------------------------------------
    def _add(self, *ins) -> int:
        self._prog.append(ins)
        return len(self._prog) - 1

    def _patch(self, at: int, *ins) -> None:
        self._prog[at] = ins

    def _predicate(self, node) -> int:
        known = self._pred_of.get(id(node))
        if known is not None:
            return known
        compiled = re.compile(self._emit(node), re.DOTALL)
        memo: Dict[str, bool] = {}

        def test(ch: str) -> bool:
            hit = memo.get(ch)
            if hit is None:
                hit = compiled.fullmatch(ch) is not None
                if len(memo) < _PER_CLASS_MEMO:
                    memo[ch] = hit
            return hit

        self._preds.append(test)
        self._pred_of[id(node)] = len(self._preds) - 1
        return len(self._preds) - 1

    def _compile(self, node) -> None:
        kind = node.kind
        if kind == "empty":
            return
        if kind in ("lit", "class", "any"):
            self._add(_CHAR, self._predicate(node))
        elif kind == "assert":
            self._add(_ASSERT, node.value, bool(node.flags & 2))   # re2.MULTILINE
        elif kind == "group":
            if node.capture:
                self._add(_SAVE, 2 * node.capture)
            self._compile(node.children[0])
            if node.capture:
                self._add(_SAVE, 2 * node.capture + 1)
        elif kind == "concat":
            for child in node.children:
                self._compile(child)
        elif kind == "alt":
            jumps = []
            for child in node.children[:-1]:
                split = self._add(_SPLIT, 0, 0)
                self._compile(child)
                jumps.append(self._add(_JMP, 0))
                self._patch(split, _SPLIT, split + 1, len(self._prog))
            self._compile(node.children[-1])
            for jump in jumps:
                self._patch(jump, _JMP, len(self._prog))
        elif kind == "repeat":
            self._repeat(node)
        else:
            raise AssertionError(kind)

    def _repeat(self, node) -> None:
        child = node.children[0]
        if node.max == -1:
            # As Go compiles them: x{n,} is n-1 copies then x+, and x* is (x+)?, so that an empty
            # iteration still records its captures.
            for _ in range(max(node.min - 1, 0)):
                self._compile(child)
            skip = self._add(_SPLIT, 0, 0) if node.min == 0 else None
            loop = len(self._prog)
            self._compile(child)
            again = self._add(_SPLIT, 0, 0)
            self._split(again, loop, len(self._prog), node.greedy)
            if skip is not None:
                self._split(skip, skip + 1, len(self._prog), node.greedy)
            return
        for _ in range(node.min):
            self._compile(child)
        splits = []
        for _ in range(node.max - node.min):
            splits.append(self._add(_SPLIT, 0, 0))
            self._compile(child)
        end = len(self._prog)
        for split in splits:
            self._split(split, split + 1, end, node.greedy)

    def _split(self, at: int, body: int, out: int, greedy: bool) -> None:
        self._patch(at, _SPLIT, *((body, out) if greedy else (out, body)))

    # -- running -----------------------------------------------------------------------------------
    def _assert(self, what: str, multiline: bool, text: str, pos: int) -> bool:
        n = len(text)
        if what == "^":
            return pos == 0 or (multiline and text[pos - 1] == "\n")
        if what == "$":
            return pos == n or (multiline and text[pos] == "\n")
        if what == "\\A":
            return pos == 0
        if what == "\\z":
            return pos == n
        before = pos > 0 and text[pos - 1] in _WORD
        after = pos < n and text[pos] in _WORD
        return (before != after) if what == "\\b" else (before == after)

    def _follow(self, out: List[tuple], seen: set, pc: int, caps: tuple, text: str, pos: int) -> None:
        """Add the thread at `pc` and every thread its empty moves reach, in priority order."""
        prog = self._prog
        stack = [(pc, caps)]
        while stack:
            pc, caps = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            ins = prog[pc]
            op = ins[0]
            if op == _JMP:
                stack.append((ins[1], caps))
            elif op == _SPLIT:
                stack.append((ins[2], caps))
                stack.append((ins[1], caps))
            elif op == _SAVE:
                slot = ins[1]
                stack.append((pc + 1, caps[:slot] + (pos,) + caps[slot + 1:]))
            elif op == _ASSERT:
                if self._assert(ins[1], ins[2], text, pos):
                    stack.append((pc + 1, caps))
            else:
                out.append((pc, caps))

    def fullmatch(self, text: str) -> Optional[LinearMatch]:
        prog, preds = self._prog, self._preds
        n = len(text)
        threads: List[tuple] = []
        self._follow(threads, set(), 0, (-1,) * (2 * self.groups + 2), text, 0)
        for pos in range(n + 1):
            if not threads:
                return None
            ch = text[pos] if pos < n else ""
            following: List[tuple] = []
            seen: set = set()
            for pc, caps in threads:
                ins = prog[pc]
                if ins[0] == _MATCH:
                    if pos == n:
                        return LinearMatch(text, caps)   # the highest-priority thread that matches
                    continue
                if pos < n and preds[ins[1]](ch):
                    self._follow(following, seen, pc + 1, caps, text, pos + 1)
            threads = following
        return None
