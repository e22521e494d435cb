"""The README is a front page and the docs hold together: the README's first commands (CI runs
them), its length, every relative link and anchor, and the writer of the generated tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.doc_tables import MarkersMissing, replace_between, write_between

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"]
)
PAGES += sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code, where link-like text is not a link."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug, n = _slug(match.group(1)), 1
            while slug in found:
                slug, n = f"{_slug(match.group(1))}-{n}", n + 1
            found.add(slug)
    return found


def test_the_readme_starts_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = FENCE.search(readme)
    assert first_block is not None
    lines = first_block.group(0).splitlines()
    assert lines[1:3] == [
        "./install.sh          # install, then upload a first photo (sandbox without a key) and print its order id",
        "./install.sh --test   # install the test tools and run the whole test suite",
    ]
    assert readme[: first_block.start()].count("\n") < 20, "the commands stand near the top"


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 220
    text = "\n".join(lines)
    assert "docs/screenshots/" in text
    for page in ("cli", "local-api", "hosts", "configuration", "api-versions", "reliability", "performance"):
        assert f"(docs/{page}.md" in text, page


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_the_generated_tables_have_their_markers():
    for page, name in (("performance.md", "bench"), ("reliability.md", "reliability")):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert replace_between(text, name, "x").count(f"<!-- {name}:") == 2


def test_the_writer_replaces_only_between_the_markers(tmp_path):
    page = tmp_path / "page.md"
    before = "# Title\n\nprose above\n<!-- t:start -->\n| old | table |\n<!-- t:end -->\nprose below\n"
    page.write_text(before, encoding="utf-8")
    write_between(page, "t", "| new | table |\n| --- | --- |\n")
    assert page.read_text(encoding="utf-8") == (
        "# Title\n\nprose above\n<!-- t:start -->\n| new | table |\n| --- | --- |\n<!-- t:end -->\nprose below\n"
    )
    write_between(page, "t", "| new | table |\n| --- | --- |")  # again: the same page
    assert page.read_text(encoding="utf-8").count("| new | table |") == 1
    assert list(tmp_path.iterdir()) == [page]


@pytest.mark.parametrize(
    "text", ["no markers", "<!-- t:start --> only a start", "<!-- t:end --> end first <!-- t:start -->"]
)
def test_the_writer_refuses_a_page_without_both_markers(text):
    with pytest.raises(MarkersMissing):
        replace_between(text, "t", "body")
