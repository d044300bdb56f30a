"""The link crawler itself (fast, builds nothing), and the site last built
by ``make docs`` when there is one."""
from pathlib import Path

import pytest

from tests.docs.crawl import broken_references

BUILT = Path(__file__).resolve().parents[2] / "docs" / "_build" / "html"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_crawler_finds_broken_links_missing_images_and_anchors(tmp_path):
    write(tmp_path / "index.html",
          '<a href="guide/a.html#here">ok</a> <a href="guide/a.html#gone">'
          'x</a> <a href="missing.html">x</a> <img src="pic.png">'
          '<img src="guide/lost.png"> <a href="https://example.org/">ext</a>'
          ' <a href="#top" id="top">self</a> <link href="s.css">')
    write(tmp_path / "guide" / "a.html", '<h1 id="here">A</h1>'
          '<a href="../index.html">back</a> <a href="../../outside.html">x'
          '</a>')
    write(tmp_path / "pic.png", "png")
    write(tmp_path / "s.css", "css")
    problems = broken_references(tmp_path)
    assert problems == [
        "guide/a.html: link ../../outside.html (outside the site)",
        "index.html: link guide/a.html#gone (no #gone there)",
        "index.html: link missing.html (no such file)",
        "index.html: image guide/lost.png (no such file)",
    ]


@pytest.mark.skipif(not (BUILT / "index.html").is_file(),
                    reason="no built site (make docs builds it)")
def test_built_site_has_no_broken_internal_link_or_image():
    assert broken_references(BUILT) == []
