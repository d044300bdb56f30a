"""Console logging: on while asked for, never over an application's own
(in a fresh interpreter: pytest configures logging itself)."""
import subprocess
import sys

import pytest

PROGRAMS = {
    "ensure": "ensure_console_logging(); ensure_console_logging(); "
              "log.info('hello'); log.info('again')",
    "block": "exec('with console_logging(): log.info(\"inside\")'); "
             "log.info('outside')",
    "configured": "logging.basicConfig(format='APP %(message)s'); "
                  "ensure_console_logging(); log.warning('mine')",
}


def run(name):
    code = ("import logging\nfrom moevae.log import console_logging, "
            "ensure_console_logging\nlog = logging.getLogger('moevae')\n"
            + PROGRAMS[name])
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60, check=True).stderr


def test_ensure_console_logging_prints_from_now_on_once():
    err = run("ensure")
    assert "moevae INFO hello" in err and err.count("again") == 1


def test_console_logging_is_put_back_after_the_block():
    err = run("block")
    assert "inside" in err and "outside" not in err


@pytest.mark.parametrize("name", ["configured"])
def test_an_application_logging_setup_is_left_alone(name):
    err = run(name)
    assert err.strip() == "APP mine"
