"""axe-core in the browser tests: the vendored copy (tests/frontend/vendor/axe-core), never fetched.

`assert_accessible(page)` runs axe's WCAG 2.0/2.1/2.2 A and AA rules on the page as it is now and
fails with every violation, its rule, its help text and the elements it found.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.10.3"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    # Through the DevTools protocol (page.evaluate), so the page's Content-Security-Policy, which
    # forbids inline scripts, stays exactly as served.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source() + "\n;undefined")
    assert page.evaluate("() => window.axe.version") == AXE_VERSION
    result: dict[str, Any] = page.evaluate(
        """tags => window.axe.run(document, {runOnly: {type: "tag", values: tags},
                                           resultTypes: ["violations"]})""",
        WCAG_TAGS,
    )
    return result["violations"]


def assert_accessible(page: Any, where: str = "") -> None:
    violations = axe_violations(page)
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        summary = violation["nodes"][0].get("failureSummary", "") if violation["nodes"] else ""
        head = f"{violation['id']} ({violation['impact']}): {violation['help']}"
        lines.append(f"{head} -> {targets}\n    {summary}")
    assert not lines, f"axe-core found violations on {where or page.url}:\n" + "\n".join(lines)
