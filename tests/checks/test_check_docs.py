"""Every hint `check` prints points at a section of the README's troubleshooting part."""
from __future__ import annotations

import re
from pathlib import Path

from kubectl_linkerd_otel.checks.framework import HINT_BASE
from kubectl_linkerd_otel.checks.registry import CATEGORIES

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def test_every_hint_anchor_has_a_section_in_the_readme():
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', README.read_text(encoding="utf-8")))
    wanted = {check.anchor for category in CATEGORIES for check in category.checks}
    assert "" not in wanted
    assert wanted - anchors == set()
    assert HINT_BASE.endswith("#")
