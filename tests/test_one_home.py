"""Each fact has one home (issue 25): the literals below may be written only in the module that names
them; every other module imports the name. A literal counts wherever the code holds it as a value: a
string (f-strings and implicitly joined strings included) or a number. Docstrings and comments may
mention a fact; they are not code.

A failure names the file and line, and the home whose name to import instead."""
import ast
from pathlib import Path
from typing import Callable, Iterator, List, NamedTuple, Tuple, Union

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "kubectl_linkerd_otel"


class Fact(NamedTuple):
    forms: Tuple[Union[str, int], ...]  # the ways the fact is written (a port as a number or as text)
    home: str                       # path below the package, where one of the forms is written
    whole: bool = False             # True: only a string that is exactly a form counts (names that prose
                                    # may use, e.g. "the linkerd-proxy container"); False: any string
                                    # holding one


FACTS = [
    # Linkerd's names: naming.py
    Fact(("linkerd.io/control-plane-ns", "label_linkerd_io_control_plane_ns"), "naming.py"),  # and its meta label
    Fact(("linkerd.io/is-control-plane",), "naming.py"),
    Fact(("linkerd.io/control-plane-component",), "naming.py"),
    Fact(("linkerd.io/inject",), "naming.py"),
    Fact(("linkerd.io/extension",), "naming.py"),
    Fact(("linkerd-proxy",), "naming.py", whole=True),
    Fact(("linkerd-admin",), "naming.py", whole=True),
    Fact((4191, "4191"), "naming.py"),
    # TCP ports: k8s/ports.py
    Fact((65535, "65535", "the port must be a number from 1 to"), "k8s/ports.py"),
    # what hides a credential: k8s/credentials.py
    Fact(("<redacted>",), "k8s/credentials.py"),
    # endpoints and URLs as written: k8s/hostport.py
    Fact(("[A-Za-z][A-Za-z0-9+.-]*",), "k8s/hostport.py"),       # a URL scheme
    Fact(("[^/@?#\\s]*)@",), "k8s/hostport.py"),                  # the user[:password]@ of an endpoint
    Fact(("[0-9A-Fa-f:.]+",), "k8s/hostport.py"),                 # IPv6 text
    # Go durations: k8s/durations.py (the units, as a regular expression)
    Fact(("(ns|us|",), "k8s/durations.py"),
]


def _docstrings(tree: ast.AST) -> set:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def literals(path: Path) -> Iterator[Tuple[int, Union[str, int]]]:
    """(line, value) of every string and number constant of the module's code."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in skip and not isinstance(node.value, bool) \
                and isinstance(node.value, (str, int)):
            yield node.lineno, node.value


def _matches(fact: Fact) -> Callable[[Union[str, int]], bool]:
    def hit(value: Union[str, int]) -> bool:
        for form in fact.forms:
            if isinstance(form, int):
                if isinstance(value, int) and value == form:
                    return True
            elif isinstance(value, str) and (value == form if fact.whole else form in value):
                return True
        return False
    return hit


def misplaced() -> List[str]:
    modules = sorted(PACKAGE.rglob("*.py"))
    found = {path: list(literals(path)) for path in modules}
    out = []
    for fact in FACTS:
        hit = _matches(fact)
        homes = 0
        for path, values in found.items():
            where = path.relative_to(PACKAGE).as_posix()
            for line, value in values:
                if not hit(value):
                    continue
                if where == fact.home:
                    homes += 1
                else:
                    out.append(f"{value!r} is written in {where}:{line}; its home is {fact.home}: "
                               "import the name defined there")
        if homes == 0:
            out.append(f"{fact.forms[0]!r} is not in its home {fact.home} any more: move this test's entry "
                       "to where it lives now (one place)")
    return out


def test_each_fact_is_written_in_its_home_only():
    assert misplaced() == []


def test_the_scan_finds_a_copy(tmp_path, monkeypatch):
    """The test above would notice a copy: the same scan over a module that writes two facts again."""
    copy = tmp_path / "copy.py"
    copy.write_text('"""linkerd-proxy in a docstring is prose."""\n'
                    'PROXY = "linkerd-proxy"\nMESSAGE = f"{PROXY} on port " "4191"\nPORT = 65535\n')
    values = list(literals(copy))
    assert (2, "linkerd-proxy") in values and (4, 65535) in values
    assert not any(line == 1 for line, _v in values)
    assert any(_matches(Fact(("4191",), "naming.py"))(value) for _line, value in values)
    assert not _matches(Fact(("linkerd-proxy",), "naming.py", whole=True))("the linkerd-proxy container")
