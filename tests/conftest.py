"""Shared fixtures: small real MNIST data, mocked and real boards."""
import gc
from pathlib import Path
from unittest import mock

import pytest
import visdom

from moevae.plotting import Board
from tests.support.helpers import Server, write_mnist_idx


@pytest.fixture(scope="module", autouse=True)
def collect_leaks():
    """Collect each module's garbage before the next module starts, so a
    pipe or file a test left open fails in its own module (setup.cfg makes
    the unraisable ResourceWarning an error) and not, later and at random,
    in whatever test the collector happens to run in."""
    yield
    gc.collect()


@pytest.fixture
def mnist_dir(tmp_path) -> Path:
    """A dataset folder with 600 + 100 real digits as gzip IDX files."""
    return write_mnist_idx(tmp_path / "mnist")


@pytest.fixture
def mock_viewer():
    """A visdom client mock that checks every call's signature."""
    return mock.create_autospec(visdom.Visdom, instance=True)


@pytest.fixture
def mock_board(mock_viewer) -> Board:
    return Board(client=mock_viewer)


@pytest.fixture
def visdom_server(tmp_path):
    server = Server(tmp_path / "visdom-env").start()
    yield server
    server.stop()
