"""The documentation builds offline with warnings as errors, every gallery
example runs in the build, and a browser sees what a reader should."""
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from tests.docs.crawl import broken_references
from tests.support.browser import CHROMIUM, Browser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path.stem for path in (ROOT / "examples").glob("*.py"))
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """``make docs``'s build, into a temporary folder (or the one
    MOEVAE_DOCS_HTML names, already built)."""
    if os.environ.get("MOEVAE_DOCS_HTML"):
        return Path(os.environ["MOEVAE_DOCS_HTML"])
    html = tmp_path_factory.mktemp("docs") / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going",
         "-q", "docs", str(html)], cwd=ROOT, capture_output=True, text=True,
        timeout=900, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr[-5000:]
    return html


def test_every_gallery_example_ran_with_output(site):
    gallery = site / "auto_examples"
    for name in EXAMPLES:
        page = (gallery / f"{name}.html").read_text()
        assert "sphx-glr-script-out" in page, name
    for name in ("moe_vae", "observers", "resume", "clustering", "conv_vae"):
        figures = list((site / "_images").glob(f"sphx_glr_{name}_0*.png"))
        assert figures, f"{name}: no figure"
    times = (ROOT / "docs" / "sg_execution_times.rst").read_text()
    for name in EXAMPLES:
        assert f"{name}.py" in times


def test_no_broken_internal_link_or_image(site):
    assert broken_references(site) == []


def public_names():
    """moevae.<package>.<name> for every name a public package exports,
    and moevae.<module> for every module of training/ and clustering/."""
    import importlib
    import pkgutil

    import moevae
    names = []
    for info in pkgutil.walk_packages(moevae.__path__, "moevae."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if info.name.startswith(("moevae.training.", "moevae.clustering.")):
            names.append(info.name)
        names += [f"{info.name}.{name}" for name in
                  getattr(module, "__all__", [])]
    return names


def test_the_api_reference_covers_every_public_name(site):
    html = "".join(path.read_text() for path in (site / "api").glob("*.html"))
    missing = [name for name in public_names()
               if f'id="{name}"' not in html and f'id="module-{name}"'
               not in html]
    assert missing == []


class _Logged(http.server.SimpleHTTPRequestHandler):
    log: ClassVar[list] = []

    def log_request(self, code="-", size="-"):
        self.log.append((self.path, int(code)))

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_Logged, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


PAGE_JS = """JSON.stringify({
  title: document.title,
  h1: (document.querySelector('h1') || {}).innerText || '',
  code: document.querySelectorAll('div.highlight pre, dl.py dt.sig').length,
  output: document.querySelectorAll('.sphx-glr-script-out pre').length,
  images: Array.from(document.querySelectorAll('article img')).map(
    image => [image.getAttribute('src'), image.complete,
              image.naturalWidth])})"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                    "(apt-get install chromium); .ci/run installs it")
@pytest.mark.parametrize("path, title, output, figures", [
    ("index.html", "moevae", False, 1),
    ("auto_examples/clustering.html",
     "A clustering recipe, then evaluate, sample and predict", True, 3),
    ("api/pynet.html", "public modules", False, 0),
])
def test_a_browser_sees_title_code_output_and_figures(
        served, tmp_path, path, title, output, figures):
    _Logged.log.clear()
    with Browser(tmp_path / "profile") as browser:
        browser.open(f"{served}/{path}")
        deadline, seen = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            seen = json.loads(browser.evaluate(PAGE_JS) or "{}")
            loaded = [image for image in seen.get("images", [])
                      if image[1] and image[2] > 0]
            complete = len(loaded) == len(seen["images"])
            if seen.get("h1") and len(loaded) >= figures and complete:
                break
            time.sleep(0.3)
    assert title in seen["h1"], seen
    assert seen["code"] >= 1, seen
    assert (seen["output"] >= 1) == output, seen
    assert len(seen["images"]) >= figures, seen
    assert all(image[1] and image[2] > 0 for image in seen["images"]), seen
    assert [entry for entry in _Logged.log if entry[1] >= 400] == []
    assert any(entry[0].endswith(path.split("/")[-1])
               for entry in _Logged.log)
