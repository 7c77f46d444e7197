"""The package's imports: no two modules import each other (directly or round a loop), and an import made inside
a function is there only for start-up time, with its reason on the comment line above it (`# lazy: ...`).
Read from the source (every import statement, those inside functions too), nothing is imported."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "kubectl_linkerd_otel"
ROOT = "kubectl_linkerd_otel"


def _modules() -> Dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([ROOT] + parts)] = path
    return out


def _imported(name: str, path: Path, node: ast.AST, modules: Dict[str, Path]) -> List[str]:
    """The modules of the package that one import statement loads (a name taken from a package is the
    submodule when there is one)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == ROOT]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != ROOT:
        return []
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in modules else target)
    return out


def _graph(modules: Dict[str, Path]) -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {m for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                       for m in _imported(name, path, node, modules) if m in modules and m != name}
    return graph


def _loops(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_loops():
    loops = _loops(_graph(_modules()))
    assert loops == [], "modules that import each other (move what they share down into a module both import): " \
        + "; ".join(" <-> ".join(loop) for loop in loops)


def test_a_function_local_import_says_why():
    local = re.compile(r"^(\s+)(import |from \S+ import )")
    missing = []
    for name, path in _modules().items():
        lines = path.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            if not local.match(line):
                continue
            above = i - 1
            while above >= 0 and (local.match(lines[above]) or not lines[above].strip()):
                above -= 1
            if not lines[above].strip().startswith("# lazy:"):
                missing.append(f"{path.relative_to(PACKAGE)}:{i + 1}: {line.strip()}")
    assert missing == [], "imports inside functions without a `# lazy: <why>` line above them (move them to the " \
        "top of the module unless they keep start-up time down): " + "; ".join(missing)
