"""read_json: a file moevae wrote, read back, or one line saying why not."""
import pytest

from moevae.errors import DataError
from moevae.fileio import read_json, write_json

EXPECTED = "the config.json that moevae train writes"


def test_reads_what_write_json_wrote(tmp_path):
    path = write_json(tmp_path / "config.json", {"epochs": 3, "seed": 0})
    assert read_json(path, EXPECTED, dict) == {"epochs": 3, "seed": 0}


@pytest.mark.parametrize("content, reason", [
    (b"", r"empty \(0 bytes\)"),
    (b'{"epochs": 3, "se', r"not complete JSON \(.* line 1 column \d+\)"),
    (b"\x80\x04K\x01.", r"a Python pickle \(.*could run code\)"),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b"[1, 2]", "a JSON list"),
])
def test_unreadable_files_are_one_line(tmp_path, content, reason):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"config.json: {reason}; expected "
                       f"{EXPECTED}") as error:
        read_json(path, EXPECTED, dict)
    assert "\n" not in str(error.value)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "none.json", EXPECTED)
