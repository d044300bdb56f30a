"""A stand-in subcommand that warns, for tests/cli/test_main.py."""
import warnings


class DemoWarning(UserWarning):
    pass


def main(argv):
    warnings.warn("first line\n  second line of the same warning", DemoWarning,
                  stacklevel=2)
    return 0
