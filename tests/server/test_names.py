"""Environment names that Visdom's server and page both handle."""
import pytest

from moevae.errors import MoEVAEValueError
from moevae.server.names import MAX_ENV_NAME, check_env_name


@pytest.mark.parametrize("name", [
    "main", "moe-vae-20240101-120000", "run 1", "écriture", "数字",
    ".hidden", "a" * MAX_ENV_NAME, "é" * (MAX_ENV_NAME // 2), "x.jso"])
def test_names_the_page_can_open_are_kept(name):
    assert check_env_name(name) == name


@pytest.mark.parametrize("name", [
    "", "   ", ".", "..", "a/b", "a\\b", "a?b", "a#b", "50%", "a+b", "a&b",
    "it's", 'say "x"', "<b>", "run.json", "tab\there", "new\nline",
    "zero\u200bwidth", "a" * (MAX_ENV_NAME + 1), "é" * (MAX_ENV_NAME // 2 + 1),
    None, 3, b"main"])
def test_other_names_are_refused_in_one_line(name):
    with pytest.raises(MoEVAEValueError) as error:
        check_env_name(name, "name")
    message = str(error.value)
    assert message.startswith("name=")
    assert "expected a name of 1-200 bytes" in message
    assert message.count("\n") == 0
