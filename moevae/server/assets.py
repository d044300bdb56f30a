"""Install Visdom's front-end files from the npm registry, for offline use.

At start, visdom 0.2.4's server downloads its JavaScript, CSS, fonts and
MathJax from CDNs into its package's ``static/`` folder, unless
``static/version.built`` holds the installed visdom version; offline, it
dies. The very same files are in npm packages: this module fetches them
with ``npm pack`` (through npm's configured registry and cache), copies
them where ``download_scripts`` would put them and writes
``version.built``. Run ``moevae assets`` (the set-up does) once.
"""
import argparse
import logging
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..fileio import atomic_save

logger = logging.getLogger("moevae")

MATHJAX_FILES = (
    "MathJax.js", "config/Safe.js", "config/TeX-AMS-MML_HTMLorMML.js",
    "extensions/Safe.js", "jax/output/SVG/jax.js", "jax/output/SVG/config.js",
    "jax/output/SVG/fonts/TeX/fontdata.js",
    "jax/output/SVG/fonts/TeX/Size1/Regular/Main.js")
GLYPHS = "dist/fonts/glyphicons-halflings-regular"
# npm package -> [(file in the package, destination under static/)]
ASSETS: Dict[str, List[Tuple[str, str]]] = {
    "jquery@3.1.1": [("dist/jquery.min.js", "js/jquery.min.js")],
    "bootstrap@3.3.7": [
        ("dist/js/bootstrap.min.js", "js/bootstrap.min.js"),
        ("dist/css/bootstrap.min.css", "css/bootstrap.min.css"),
        *[(f"{GLYPHS}.{ext}", f"fonts/glyphicons-halflings-regular.{ext}")
          for ext in ("eot", "woff2", "woff", "ttf")],
        (f"{GLYPHS}.svg", "fonts/glyphicons-halflings-regular.svg"
                          "#glyphicons_halflingsregular")],
    "react@16.2.0": [("umd/react.production.min.js", "js/react-react.min.js")],
    "react-dom@16.2.0": [("umd/react-dom.production.min.js",
                          "js/react-dom.min.js")],
    "react-modal@3.1.10": [("dist/react-modal.min.js",
                            "js/react-modal.min.js")],
    "plotly.js-dist-min@2.11.1": [("plotly.min.js",
                                   "js/plotly-plotly.min.js")],
    "sjcl@1.0.7": [("sjcl.js", "js/sjcl.js")],
    "layout-bin-packer@1.4.0": [
        ("dist/layout-bin-packer.js", "js/layout_bin_packer.js"),
        ("dist/layout-bin-packer.js.map", "js/layout-bin-packer.js.map")],
    "d3@3.5.17": [("d3.min.js", "js/d3.v3.min.js")],
    "d3-selection-multi@1.0.1": [("build/d3-selection-multi.js",
                                  "js/d3-selection-multi.v1.js")],
    "save-svg-as-png@1.4.17": [("lib/saveSvgAsPng.js", "js/saveSvgAsPng.js")],
    "react-resizable@1.4.6": [("css/styles.css",
                               "css/react-resizable-styles.css")],
    "react-grid-layout@0.16.3": [("css/styles.css",
                                  "css/react-grid-layout-styles.css")],
    "classnames@2.2.5": [("index.js", "fonts/classnames")],
    "mathjax@2.7.5": [(name, f"js/mathjax/2.7.5/{name}")
                      for name in MATHJAX_FILES],
}
DEFAULT_CACHE = Path.home() / ".cache" / "moevae" / "npm"


class AssetError(RuntimeError):
    """The front-end files could not be installed."""


def static_dir() -> Path:
    """visdom's ``static/`` folder (where its server looks)."""
    import visdom
    return Path(visdom.__file__).parent / "static"


def visdom_version() -> str:
    from importlib.metadata import version
    return version("visdom")


def missing_assets(static: Optional[Path] = None) -> List[str]:
    """Destinations still missing ('version.built' if not marked built)."""
    static = static or static_dir()
    missing = [destination for files in ASSETS.values()
               for _, destination in files if not (static / destination).is_file()]
    built = static / "version.built"
    if not built.is_file() or built.read_text().strip() != visdom_version():
        missing.append("version.built")
    return missing


def tarball_name(package: str) -> str:
    name, version = package.rsplit("@", 1)
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch_tarballs(cache: Path) -> Dict[str, Path]:
    """``npm pack`` the packages not yet in ``cache``; name -> tarball."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = [p for p in ASSETS if not (cache / tarball_name(p)).is_file()]
    if wanted:
        logger.info("assets: npm pack %s", " ".join(wanted))
        try:
            subprocess.run(["npm", "pack", "--silent", "--pack-destination",
                            str(cache), *wanted], check=True,
                           capture_output=True, text=True, timeout=600)
        except FileNotFoundError:
            raise AssetError("npm is not installed; install Node.js/npm "
                             "(Debian: apt-get install npm)") from None
        except subprocess.CalledProcessError as error:
            last = (error.stderr or "").strip().splitlines()[-1:]
            raise AssetError(f"npm pack failed: {last[0] if last else error}"
                             ) from None
    return {package: cache / tarball_name(package) for package in ASSETS}


def install_assets(static: Optional[Path] = None,
                   cache: Path = DEFAULT_CACHE) -> int:
    """Put every front-end file in place; return how many were written."""
    static = static or static_dir()
    tarballs = fetch_tarballs(cache)
    written = 0
    for package, files in ASSETS.items():
        with tarfile.open(tarballs[package]) as archive:
            for source, destination in files:
                member = archive.extractfile(f"package/{source}")
                if member is None:
                    raise AssetError(f"{package}: no file {source}")
                _write(static / destination, member.read())
                written += 1
    _write(static / "version.built", visdom_version().encode())
    return written


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(path, lambda handle: handle.write(data))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="moevae assets", description="Install Visdom's front-end files "
        "from the npm registry so its server runs offline.")
    parser.add_argument("--static", type=Path, help="target folder "
                        "(default: the installed visdom's static/)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="where npm tarballs are kept (default %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="only report what is missing (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        missing = missing_assets(args.static)
        print("assets: all in place" if not missing else
              f"assets: missing {', '.join(missing)}")
        return 1 if missing else 0
    try:
        count = install_assets(args.static, args.cache)
    except AssetError as error:
        print(f"moevae assets: {error}", file=sys.stderr)
        return 1
    print(f"assets: {count} files in {args.static or static_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
