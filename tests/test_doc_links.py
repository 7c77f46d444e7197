"""Every documentation link resolves: the hint URLs `check` prints, the docs/ pages the plugin names, and
every relative link in README.md and docs/*.md, down to the heading or `<a id>` anchor (GitHub's rules)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

from kubectl_linkerd_otel.checks.framework import HINT_BASE
from kubectl_linkerd_otel.checks.registry import CATEGORIES
from kubectl_linkerd_otel.report.check_json import COULD_NOT_RUN_ANCHOR

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "kubectl_linkerd_otel"
REPO_URL = "https://github.com/linkerd-otel/kubectl-linkerd-otel"
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")
_LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def _prose(path: Path) -> Iterator[Tuple[int, str]]:
    """The lines of a Markdown file outside fenced code blocks, with their numbers."""
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text (links and code marks removed) lower-cased, every
    character but letters, digits, `_`, `-` and spaces dropped, spaces made `-`."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)       # a link counts by its text
    text = re.sub(r"<[^>]+>", "", text)                              # inline HTML
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> Set[str]:
    found: Set[str] = set()
    seen: Dict[str, int] = {}
    for _, line in _prose(path):
        found.update(_HTML_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if match:
            slug = github_slug(match.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")   # GitHub numbers repeated headings
    return found


def relative_links(path: Path) -> Iterator[Tuple[int, str]]:
    for number, line in _prose(path):
        for target in _LINK.findall(_CODE_SPAN.sub("", line)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):          # http:, https:, mailto: ...
                yield number, target


def resolve(source: Path, target: str) -> str:
    """'' when `target` (a link in `source`) names an existing file and, if it has one, anchor."""
    file_part, _, fragment = target.partition("#")
    goal = (source.parent / file_part).resolve() if file_part else source
    if not goal.exists():
        return f"{target}: no such file {goal.relative_to(ROOT) if ROOT in goal.parents else goal}"
    if fragment and goal.suffix == ".md" and fragment not in anchors(goal):
        return f"{target}: no anchor #{fragment} in {goal.relative_to(ROOT)}"
    return ""


def test_github_slugs_follow_githubs_rules():
    assert github_slug("The plugin: gather -> snapshot -> checks -> report, and render -> apply") == \
        "the-plugin-gather---snapshot---checks---report-and-render---apply"
    assert github_slug("Scrape targets: `kubectl linkerd-otel targets`") == "scrape-targets-kubectl-linkerd-otel-targets"
    assert github_slug("√ can initialize the client") == "-can-initialize-the-client"
    assert github_slug("Restricting the proxies' metrics to the collector") == \
        "restricting-the-proxies-metrics-to-the-collector"
    assert github_slug("`snapshot`, `--snapshot` and `--demo`") == "snapshot---snapshot-and---demo"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path):
    broken = [f"{doc.relative_to(ROOT)}:{number}: {problem}"
              for number, target in relative_links(doc) for problem in [resolve(doc, target)] if problem]
    assert broken == []


def test_the_hint_urls_check_prints_lead_to_sections_of_the_readme():
    # GitHub shows README.md at the repository's address, so a hint is an anchor of the README
    assert HINT_BASE == REPO_URL + "#"
    printed = {check.anchor for category in CATEGORIES for check in category.checks} | {COULD_NOT_RUN_ANCHOR}
    assert "" not in printed
    assert printed - anchors(ROOT / "README.md") == set()


def _src_mentions() -> List[Tuple[str, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        found += [(name, m) for m in re.findall(r"(?<![\w/.-])((?:docs/[\w.-]+\.md|README\.md)(?:#[\w-]+)?)", text)]
        found += [(name, m) for m in re.findall(re.escape(REPO_URL) + r"[^\s\"'`)]*", text)]
    return found


def test_every_docs_page_the_plugin_names_exists():
    mentions = _src_mentions()
    assert any(target.startswith("docs/") for _, target in mentions)      # the search itself works
    broken = []
    for name, target in mentions:
        if target.startswith(REPO_URL):
            rest = target[len(REPO_URL):]
            if rest.startswith("/blob/main/"):
                target = rest[len("/blob/main/"):]
            elif rest.startswith("#"):
                target = "README.md" + rest
            elif rest == "" or rest.startswith("/releases"):
                continue
            else:
                broken.append(f"{name}: {target}: not a page of this repository")
                continue
        problem = resolve(ROOT / "README.md", target)
        if problem:
            broken.append(f"{name}: {problem}")
    assert broken == []


def test_design_facts_are_cited_from_the_repository():
    # The code once cited a DESIGN.md that is not in the repository; its facts are in docs/architecture.md.
    citing = [str(p.relative_to(ROOT)) for p in sorted(SRC.rglob("*.py")) + [ROOT / ".importlinter"]
              if "DESIGN.md" in p.read_text(encoding="utf-8")]
    assert citing == []
