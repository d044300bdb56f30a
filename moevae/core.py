"""Base: pynet's training loop (folds -> epochs -> batches) with observers.

Per epoch: ``before_epoch`` -> train -> scheduler step -> validation ->
history -> one log line -> ``after_epoch`` -> checkpoint. The checkpoint is
taken last, so that it holds the random state after everything the epoch
drew (validation noise, observers' samples): resuming from it replays the
next epoch exactly.
"""
import contextlib
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch

from . import checkpoint as ckpt
from .engine import EpochRunner, EpochTotals
from .errors import MoEVAEValueError, NonFiniteLossError, \
    TrainingInterrupted, bad_value, check_positive_int
from .history import History
from .observable import Observable, Signal
from .resume import ResumePoint, RunState

logger = logging.getLogger("moevae")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Base(Observable):
    """Training and evaluation of ``model`` with ``loss`` and ``optimizer``."""

    def __init__(self, model: torch.nn.Module, loss: Any,
                 optimizer: torch.optim.Optimizer, device: torch.device,
                 metrics: Dict[str, Any], add_labels: bool = False,
                 precision: str = "fp32", nonfinite: str = "raise",
                 keep_checkpoints: int = 2):
        super().__init__(signals=list(Signal))
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.device, self.metrics = device, metrics
        self.add_labels, self.precision = add_labels, precision
        self.nonfinite, self.keep_checkpoints = nonfinite, keep_checkpoints
        self.board = None
        self.forward = model  # replaced by a compiled forward on request
        self.skipped_batches = 0
        self.runner = EpochRunner(self)
        self._stop_signal: Optional[int] = None

    # -- one step --------------------------------------------------------
    def autocast(self):
        """bfloat16 autocast when precision='bf16', else nothing."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def apply_step(self, loss: torch.Tensor) -> None:
        loss.backward()
        self.optimizer.step()

    # -- training --------------------------------------------------------
    def training(self, manager, nb_epochs: int, checkpointdir: Optional[str] = None,
                 fold_index: Optional[int] = None, scheduler: Any = None,
                 with_validation: bool = True, save_after_epochs: int = 1,
                 add_labels: bool = False, resume: bool = False
                 ) -> Tuple[History, Optional[History]]:
        """Train on each fold (or ``fold_index`` only) for ``nb_epochs``.

        Returns (train_history, valid_history), as pynet does.
        ``resume=True`` continues from the newest valid checkpoint in
        ``checkpointdir``.
        """
        check_positive_int("nb_epochs", nb_epochs)
        check_positive_int("save_after_epochs", save_after_epochs)
        folds = self._folds(manager, fold_index)
        self.add_labels = self.add_labels or add_labels
        directory = self._checkpoint_dir(checkpointdir, resume)
        state = RunState(self, scheduler, with_validation, folds, nb_epochs)
        point = ResumePoint.find(directory, self, state) if resume else None
        with self._stop_on_signals():
            for fold in folds:
                if point and point.skips_fold(fold):
                    continue
                self._train_fold(manager, fold, state, directory,
                                 save_after_epochs, point)
                point = None
        self.notify_observers(Signal.AFTER_TRAINING, histories=(
            state.train, state.valid))
        return state.train, state.valid

    def _folds(self, manager, fold_index: Optional[int]) -> List[int]:
        count = len(manager["train"])
        if count == 0:
            raise MoEVAEValueError("the DataManager has no training set")
        if fold_index is None:
            return list(range(count))
        if isinstance(fold_index, bool) or not isinstance(
                fold_index, (int, np.integer)) or not 0 <= fold_index < count:
            raise bad_value("fold_index", fold_index,
                            f"None or an integer in [0, {count})")
        return [int(fold_index)]

    @staticmethod
    def _checkpoint_dir(checkpointdir, resume: bool) -> Optional[Path]:
        if checkpointdir is None:
            if resume:
                raise bad_value("resume", resume, "a checkpointdir to "
                                "resume from")
            return None
        directory = Path(checkpointdir).expanduser()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise bad_value("checkpointdir", str(directory),
                            f"a writable folder ({error.strerror})") from None
        ckpt.remove_stale_temporaries(directory)
        return directory

    def _train_fold(self, manager, fold: int, state: "RunState",
                    directory: Optional[Path], save_after_epochs: int,
                    point: Optional[ResumePoint]) -> None:
        within = point is not None and point.within_fold(fold)
        if point is not None and not within:
            point.restore_rng()
        if not within:
            state.reset_to_initial()
        loaders = manager.get_dataloader(
            train=True, validation=state.with_validation, fold_index=fold)
        for loader in (loaders.train, loaders.validation):
            if hasattr(loader, "to"):
                loader.to(self.device)
        first_epoch, totals = 0, None
        if within:
            first_epoch, totals = point.enter_fold(loaders.train,
                                                   self.device)
        for epoch in range(first_epoch, state.nb_epochs):
            self._train_epoch(loaders, fold, epoch, state, directory,
                              save_after_epochs, totals)
            totals = None

    def _train_epoch(self, loaders, fold: int, epoch: int, state: "RunState",
                     directory: Optional[Path], save_after_epochs: int,
                     totals: Optional[EpochTotals]) -> None:
        # also when resuming mid-epoch: observers see every epoch start
        self.notify_observers(Signal.BEFORE_EPOCH, epoch=epoch, fold=fold,
                              scheduler=state.scheduler)
        desc = f"fold {fold} epoch {epoch + 1}/{state.nb_epochs}"
        started = time.perf_counter()
        totals = self.runner.run(loaders.train, True, desc, totals,
                                 should_stop=lambda: self._stop_signal
                                 is not None)
        if self._stop_signal is not None:
            self._interrupt(state, directory, loaders.train, fold, epoch,
                            totals)
        if not totals.batches:
            raise NonFiniteLossError(f"{desc}: every batch was skipped "
                                     "(non-finite losses); nothing to train")
        values = totals.means()
        loss = values.pop("loss")
        state.step_scheduler(loss)
        elapsed = time.perf_counter() - started
        state.train.log((fold, epoch), loss=loss, **values)
        report = {"loss": loss, **values}
        if state.with_validation:
            report.update(self._validate(loaders.validation, desc, state,
                                         fold, epoch))
        report.update(epoch_time=elapsed,
                      samples_per_second=totals.samples / max(elapsed, 1e-9),
                      lr=self.optimizer.param_groups[0]["lr"],
                      batch_loss=torch.stack(totals.batch_losses).cpu().numpy())
        logger.info("%s: %s", desc, format_report(report))
        self.notify_observers(Signal.AFTER_EPOCH, epoch=epoch, fold=fold,
                              scheduler=state.scheduler, **report)
        if directory is not None and (epoch % save_after_epochs == 0 or
                                      epoch == state.nb_epochs - 1):
            state.save(directory, fold, epoch, loaders.train,
                       report.get("val_loss"))

    def _validate(self, loader, desc: str, state: "RunState", fold: int,
                  epoch: int) -> Dict[str, Any]:
        if len(loader) == 0:
            raise MoEVAEValueError("with_validation=True but the fold's "
                                   "validation set is empty")
        predictions: List[torch.Tensor] = []
        totals = self.runner.run(loader, False, desc + " validation",
                                 predictions=predictions)
        values = totals.means()
        loss = values.pop("loss")
        state.valid.log((fold, epoch), loss=loss, **values)
        report = {"val_loss": loss}
        report.update({f"val_{key}": value for key, value in values.items()})
        if predictions:
            report["val_pred"] = torch.cat(predictions).cpu().numpy()
        return report

    # -- interruption ----------------------------------------------------
    @contextlib.contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM: finish the step, checkpoint, raise."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._stop_signal = None
        previous = {number: signal.getsignal(number)
                    for number in STOP_SIGNALS}

        def request_stop(number, frame):
            self._stop_signal = number
            for other in STOP_SIGNALS:  # a second signal stops at once
                signal.signal(other, previous[other])
        for number in STOP_SIGNALS:
            signal.signal(number, request_stop)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _interrupt(self, state: "RunState", directory: Optional[Path],
                   loader, fold: int, epoch: int, totals: EpochTotals):
        name = signal.Signals(self._stop_signal).name
        where = f"fold {fold}, epoch {epoch + 1}, batch {totals.batches}"
        if directory is None:
            saved = "no checkpoint written (no checkpointdir)"
        else:
            path = state.save(directory, fold, epoch, loader, None,
                              totals=totals)
            saved = (f"checkpoint {path}; resume with "
                     f"`moevae train --resume {directory}` or "
                     "training(..., resume=True)")
        self.close()
        raise TrainingInterrupted(f"{name}: training stopped at {where}; "
                                  f"{saved}", self._stop_signal)

    def close(self, timeout: float = 10.0) -> None:
        """Flush the board's queue (if there is a board)."""
        if self.board is not None and hasattr(self.board, "flush"):
            self.board.flush(timeout)

    # -- evaluation ------------------------------------------------------
    def test(self, loader, with_logit: bool = False,
             logit_function: str = "softmax", predict: bool = False,
             concat_layer_outputs=None, is_validation: bool = False):
        """Predictions, mean loss and components over ``loader``."""
        predictions: List[torch.Tensor] = []
        totals = self.runner.run(loader, False, "test",
                                 predictions=predictions,
                                 concat_layer_outputs=concat_layer_outputs)
        values = totals.means()
        loss = values.pop("loss", None)
        y = torch.cat(predictions) if predictions else None
        if y is not None and with_logit:
            if logit_function not in ("softmax", "sigmoid"):
                raise bad_value("logit_function", logit_function,
                                "'softmax' or 'sigmoid'")
            y = torch.softmax(y, dim=1) if logit_function == "softmax" \
                else torch.sigmoid(y)
        y = None if y is None else y.cpu().numpy()
        if y is not None and predict:
            y = np.argmax(y, axis=1)
        return y, loss, values

    def testing(self, manager, with_logit: bool = False,
                logit_function: str = "softmax", predict: bool = False,
                concat_layer_outputs=None):
        """pynet's testing: (y, X, y_true, loss, values) on the test set."""
        loader = manager.get_dataloader(test=True).test
        y, loss, values = self.test(loader, with_logit, logit_function,
                                    predict, concat_layer_outputs)
        inputs, truths = [], []
        for item in loader:
            inputs.append(item.inputs.cpu().numpy())
            truths.append([t.cpu().numpy() for t in (item.outputs,
                                                     item.labels)
                           if t is not None])
        X = np.concatenate(inputs)
        y_true = [np.concatenate(parts) for parts in zip(*truths)]
        y_true = y_true[0] if len(y_true) == 1 else y_true
        return y, X, y_true, loss, values


def format_report(report: Dict[str, Any]) -> str:
    """'loss 1.2 | kl 0.3 | ... | 2.31 s, 3900 samples/s' for the log."""
    losses = " | ".join(f"{key} {value:.5g}" for key, value in report.items()
                        if key not in ("epoch_time", "samples_per_second",
                                       "lr", "batch_loss", "val_pred"))
    return (f"{losses} | {report['epoch_time']:.2f} s, "
            f"{report['samples_per_second']:.0f} samples/s")
