"""moevae replay's --board option: a running server's URL only."""
import re

import pytest

from moevae.cli import main


@pytest.mark.parametrize("value, message", [
    ("notaurl", "'notaurl': expected a server URL such as "
                "http://localhost:8097"),
    ("off", "'off': expected a server URL .* run `moevae board` first"),
    ("auto", "'auto': expected a server URL .* run `moevae board` first"),
    ("http://localhost:99999", "expected a server URL"),
])
def test_bad_board_values_are_one_consistent_line(tmp_path, capsys, value,
                                                  message):
    log = tmp_path / "board.jsonl"
    log.write_text("")
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(log), "--board", value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert re.search(message, err), err
    assert "auto, off or" not in err
