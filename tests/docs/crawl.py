"""Crawl a built HTML site: every internal link and image must exist."""
from html.parser import HTMLParser
from pathlib import Path
from typing import List, Set, Tuple
from urllib.parse import unquote, urlsplit


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.references: List[Tuple[str, str]] = []  # (kind, url)
        self.ids: Set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.references.append(("link", attrs["href"]))
        elif tag == "img" and attrs.get("src"):
            self.references.append(("image", attrs["src"]))
        elif tag == "link" and attrs.get("href"):
            self.references.append(("resource", attrs["href"]))
        elif tag == "script" and attrs.get("src"):
            self.references.append(("resource", attrs["src"]))


def _parse(page: Path) -> _References:
    parser = _References()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser


def broken_references(root: Path) -> List[str]:
    """'page: kind url (why)' for each internal reference that does not
    resolve: a missing file, or a missing #anchor in an HTML page."""
    root = root.resolve()
    problems, parsed = [], {}
    for page in sorted(root.rglob("*.html")):
        parsed[page] = _parse(page)
    for page, references in parsed.items():
        for kind, url in references.references:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(
                    ("mailto:", "javascript:", "data:")):
                continue  # external: not this site's business offline
            path, anchor = unquote(parts.path), unquote(parts.fragment)
            target = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(root)}: {kind} {url}"
            if root not in target.parents and target != root:
                problems.append(f"{where} (outside the site)")
            elif target.is_dir():
                if not (target / "index.html").is_file():
                    problems.append(f"{where} (a folder without index)")
            elif not target.is_file():
                problems.append(f"{where} (no such file)")
            elif anchor and target.suffix == ".html":
                ids = (parsed.get(target) or _parse(target)).ids
                if anchor not in ids:
                    problems.append(f"{where} (no #{anchor} there)")
    return problems
