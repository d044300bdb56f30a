"""Console logging that shows progress without fighting tqdm's bars.

The library only adds a NullHandler at import; an interface adds this
console handler to the ``moevae`` logger when the application configured
no logging at all, so a plain script prints one line per epoch. An
application that configures logging (root or ``moevae`` handlers) keeps
full control.
"""
import logging

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


def ensure_console_logging(level: int = logging.INFO) -> None:
    """Print moevae's INFO lines unless logging was configured."""
    logger = logging.getLogger("moevae")
    own = [handler for handler in logger.handlers
           if not isinstance(handler, logging.NullHandler)]
    if own or logging.getLogger().handlers:
        return
    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
