from __future__ import annotations

import re
from pathlib import Path

from kubectl_linkerd_otel.checks.framework import HINT_BASE
from kubectl_linkerd_otel.checks.registry import CATEGORIES

DOC = Path(__file__).resolve().parent.parent / "docs" / "troubleshooting.md"


def test_every_hint_anchor_has_a_section():
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', DOC.read_text(encoding="utf-8")))
    wanted = {check.anchor for category in CATEGORIES for check in category.checks}
    assert "" not in wanted
    assert wanted - anchors == set()
    assert HINT_BASE.endswith("#")
