"""The offline front-end installer, fed with local tarballs (no network)."""
import io
import tarfile

import pytest

from moevae.server import assets


def fake_tarballs(cache):
    """A tarball per npm package holding each file the board needs."""
    cache.mkdir(parents=True)
    for package, files in assets.ASSETS.items():
        with tarfile.open(cache / assets.tarball_name(package), "w:gz") as tar:
            for source, _ in files:
                data = f"{package} {source}".encode()
                info = tarfile.TarInfo(f"package/{source}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def test_installs_every_file_and_marks_the_version(tmp_path, monkeypatch):
    fake_tarballs(tmp_path / "cache")
    monkeypatch.setattr(assets.subprocess, "run", pytest.fail)  # no npm
    static = tmp_path / "static"
    assert "version.built" in assets.missing_assets(static)
    count = assets.install_assets(static, tmp_path / "cache")
    assert count == sum(len(files) for files in assets.ASSETS.values())
    assert assets.missing_assets(static) == []
    assert ((static / "version.built").read_text() ==
        assets.visdom_version())
    assert ((static / "js" / "plotly-plotly.min.js").read_text() ==
        "plotly.js-dist-min@2.11.1 plotly.min.js")
    assert (static / "js/mathjax/2.7.5/jax/output/SVG/jax.js").is_file()


def test_every_file_download_scripts_fetches_is_covered():
    """The list matches visdom's own download_scripts targets."""
    import inspect

    from visdom.server import build
    source = inspect.getsource(build.download_scripts)
    targets = {dest.split("/")[-1] for files in assets.ASSETS.values()
               for _, dest in files}
    for name in ("jquery.min.js", "plotly-plotly.min.js", "d3.v3.min.js",
                 "layout_bin_packer.js", "classnames", "MathJax.js",
                 "glyphicons-halflings-regular.woff2"):
        assert name in targets and name.split("#")[0] in source


def test_missing_npm_is_explained(tmp_path, monkeypatch):
    def no_npm(*args, **kwargs):
        raise FileNotFoundError("npm")
    monkeypatch.setattr(assets.subprocess, "run", no_npm)
    with pytest.raises(assets.AssetError, match="npm is not installed"):
        assets.install_assets(tmp_path / "static", tmp_path / "cache")
    assert not (tmp_path / "static" / "version.built").exists()


@pytest.mark.integration
def test_a_started_board_has_every_asset(visdom_server):
    """Starting the board installs what is missing (as `moevae assets`
    does), so it serves offline whatever ran before."""
    assert assets.missing_assets() == []
