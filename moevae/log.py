"""Console logging that shows progress without fighting tqdm's bars.

The library only adds a NullHandler at import; while an interface trains
(:func:`console_logging`), this console handler is added to the ``moevae``
logger when the application configured no logging at all, so a plain
script prints one line per epoch, and removed when training ends. An
application that configures logging (root or ``moevae`` handlers) keeps
full control.
"""
import contextlib
import logging
from typing import Any, Dict, Iterator

from tqdm.auto import tqdm

FORMAT = "%(asctime)s moevae %(levelname)s %(message)s"
DATE_FORMAT = "%H:%M:%S"


class TqdmHandler(logging.StreamHandler):
    """Write records through tqdm.write so progress bars stay intact."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # logging must never raise
            self.handleError(record)


def _unconfigured(logger: logging.Logger) -> bool:
    own = [handler for handler in logger.handlers
           if not isinstance(handler, logging.NullHandler)]
    return not own and not logging.getLogger().handlers


def _add_console_handler(logger: logging.Logger, level: int
                         ) -> logging.Handler:
    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


@contextlib.contextmanager
def console_logging(level: int = logging.INFO) -> Iterator[None]:
    """Print moevae's INFO lines in the block, unless logging was
    configured; the logger is put back as it was afterwards."""
    logger = logging.getLogger("moevae")
    if not _unconfigured(logger):
        yield
        return
    previous_level = logger.level
    handler = _add_console_handler(logger, level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def ensure_console_logging(level: int = logging.INFO) -> None:
    """Print moevae's lines of ``level`` and above from now on, unless
    logging was configured (for applications, such as the ``moevae``
    command, that own their process)."""
    logger = logging.getLogger("moevae")
    if _unconfigured(logger):
        _add_console_handler(logger, level)


def format_report(report: Dict[str, Any]) -> str:
    """'loss 1.2 | kl 0.3 | ... | 2.31 s, 3900 samples/s' for the log."""
    losses = " | ".join(f"{key} {value:.5g}" for key, value in report.items()
                        if key not in ("epoch_time", "samples_per_second",
                                       "lr", "batch_loss", "val_pred"))
    if "epoch_time" not in report:  # a resumed epoch that drew nothing
        return f"{losses} | no sample drawn in this attempt"
    return (f"{losses} | {report['epoch_time']:.2f} s, "
            f"{report['samples_per_second']:.0f} samples/s")
