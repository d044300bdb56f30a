"""The ``moevae`` command: train, board, assets, replay, evaluate, sample,
predict.

Each subcommand's module is imported only when used, so ``moevae board``
starts without importing torch.
"""
import importlib
import sys
from typing import List, Optional

COMMANDS = {
    "train": ("moevae.cli.train", "train the MoE VAE with a live board"),
    "board": ("moevae.server.run", "start the offline Visdom server"),
    "assets": ("moevae.server.assets", "install the board's front-end files"),
    "replay": ("moevae.cli.replay", "rebuild a board from an offline log"),
    "evaluate": ("moevae.cli.evaluate", "clustering metrics of a checkpoint"),
    "sample": ("moevae.cli.sample", "new images from each expert, as a PNG"),
    "predict": ("moevae.cli.predict", "each image's expert, as a CSV"),
}
USAGE = "usage: moevae {" + ",".join(COMMANDS) + "} [options]  (moevae " \
    "COMMAND --help for each)"


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        for name, (_, summary) in COMMANDS.items():
            print(f"  {name:9s} {summary}")
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"moevae: error: unknown command {argv[0]!r}; expected one of "
              f"{', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
