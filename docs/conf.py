"""Sphinx configuration: the user guide, the executed gallery of
``examples/``, the command-line reference from the real parsers and the API
reference. ``make docs`` builds it offline with warnings as errors."""
import atexit
import logging
import os
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import moevae_docs  # noqa: E402

import moevae  # noqa: E402

project = "moevae"
author = "the moevae developers"
copyright = "the moevae developers, MIT licence"
release = version = moevae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "moevae_docs",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.json",
                    # tables the clustering study writes, included by pages
                    "guide/tables"]
templates_path = []
html_theme = "furo"
html_title = f"moevae {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.png"
html_show_sourcelink = False

# Cross-references to moevae's own objects must resolve; third-party types
# (no intersphinx: the build is offline) are plain text.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|np|pandas|pd|scipy|sklearn|visdom|argparse"
               r"|logging|pathlib|subprocess|threading|typing|collections"
               r"|concurrent|datetime|json|os|io|tqdm|requests|enum)(\..*)?"),
    # private methods named in a module's overview
    (r"py:meth", r".*\._\w+"),
    (r"py:class", r"(Path|Tensor|Module|Optimizer|ndarray|DataFrame|Any"
                  r"|Callable|Optional|Union|Sequence|Iterable|Iterator"
                  r"|Mapping|Dict|List|Tuple|Type|NamedTuple|Enum|IntEnum"
                  r"|optional|default.*|callable|array.*|tensor.*)"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_inherit_docstrings = False
suppress_warnings = ["config.cache"]

# The gallery runs during the build on short settings: a few thousand of
# the shipped digits, one epoch, and a board server of the build's own.
_work = Path(tempfile.mkdtemp(prefix="moevae-docs-"))
moevae_docs.gallery_environment(_work)
_board = moevae_docs.BoardServer(_work / "board")
if os.environ.get("MOEVAE_DOCS_BOARD", "1") == "1" and _board.start():
    os.environ["MOEVAE_BOARD_PORT"] = str(_board.port)
atexit.register(_board.stop)
logging.getLogger("moevae").addHandler(moevae_docs.StdoutLog())
logging.getLogger("moevae").setLevel(logging.INFO)

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"(torchrun_|_helpers)",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "within_subsection_order": "moevae_docs.GalleryOrder",
    "copyfile_regex": r".*\.sh$",
}
