#!/usr/bin/env python3
"""`make fuzz`: the property tests with random seeds and many examples.

The suite runs them derandomized (the `ci` hypothesis profile in tests/conftest.py), so it is green or red
for a reason, never for a seed. This explores instead: each seed is one pytest run of every test file
that uses hypothesis, under the `fuzz` profile, with each test's example count scaled up. A failure is
printed as a ready-to-paste `@example(...)` for the test it broke (fix the code or the property, then
paste it above the test's `@given` so the suite keeps trying it).

    python scripts/fuzz.py [--seeds 20] [--first-seed 1] [--scale 5] [-k EXPR]

Exit 0 when no seed found anything, 1 otherwise.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# hypothesis prints "Falsifying example: test(...)" (older) or "Failing test case: test(...)" (newer),
# in pytest's report behind "E   " prefixes
FALSIFYING = re.compile(r"^(?:Falsifying (?:explicit )?example|Failing test case): (\w+)\((.*?)^\)\s*$",
                        re.M | re.S)
PYTEST_PREFIX = re.compile(r"^E {1,7}", re.M)
FAILED_TEST = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def property_test_files() -> list:
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("test_*.py")
                  if "from hypothesis import" in p.read_text(encoding="utf-8"))


def as_examples(output: str) -> list:
    """Each falsifying example hypothesis printed, as (test name, `@example(...)` text)."""
    found = []
    seen = set()
    for name, body in FALSIFYING.findall(PYTEST_PREFIX.sub("", output)):
        if (name, body) in seen:
            continue
        seen.add((name, body))
        args = body.strip()
        found.append((name, f"@example({args})" if "\n" not in args else f"@example(\n{body.strip(chr(10)).rstrip()}\n)"))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (pytest runs)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=5.0, help="examples per test, times the suite's count")
    parser.add_argument("-k", dest="keyword", default="", help="only tests matching this pytest -k expression")
    args = parser.parse_args(argv)

    files = property_test_files()
    env = dict(os.environ, HYPOTHESIS_PROFILE="fuzz", HYPOTHESIS_EXAMPLES_SCALE=str(args.scale))
    failures = []
    started = time.monotonic()
    print(f"fuzz: {len(files)} files with property tests, {args.seeds} seeds, examples x{args.scale:g}")
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        # the Prometheus differential property runs a fixed, recorded set of cases: not fuzzed here
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not prometheus",
                   f"--hypothesis-seed={seed}", *files]
        if args.keyword:
            command += ["-k", args.keyword]
        proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        print(f"seed {seed}: {summary}", flush=True)
        if proc.returncode not in (0, 5):
            examples = as_examples(output)
            failed = FAILED_TEST.findall(output)
            failures.append((seed, failed, examples))
            for name, text in examples:
                print(f"  {name} fails on this example; fix it, then paste above the test's @given:\n"
                      + "\n".join("    " + line for line in text.splitlines()))
            if not examples:
                print("\n".join("  " + line for line in output.strip().splitlines()[-30:]))
    took = time.monotonic() - started
    if failures:
        print(f"fuzz: {len(failures)} of {args.seeds} seeds found a failure ({took:.0f} s): "
              + ", ".join(f"seed {seed}: {' '.join(failed) or 'see above'}" for seed, failed, _ in failures))
        return 1
    print(f"fuzz: nothing found in {args.seeds} seeds ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
