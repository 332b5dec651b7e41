"""Every relative link in README.md points at a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_relative_readme_link_has_its_target() -> None:
    text = (REPO / "README.md").read_text()
    targets = {t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text)}
    local = {t for t in targets if t and not re.match(r"^[a-z]+:", t)}
    assert local, "README.md links no file: the pattern above no longer finds links"
    assert sorted(t for t in local if not (REPO / t).exists()) == []
