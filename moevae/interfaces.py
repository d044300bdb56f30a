"""DeepLearningInterface: pynet's entry point, and the training loop.

``DeepLearningInterface(model=..., optimizer_name="Adam",
learning_rate=1e-3, loss=..., use_cuda=True)`` as in the seed, then
``training(manager, nb_epochs, ...)``. The whole loop reads top to bottom
here: :meth:`~DeepLearningInterface.training` (folds) ->
:meth:`~DeepLearningInterface._train_epoch` (one epoch: observers, the
training pass, scheduler, validation, history, log line, checkpoint) ->
:meth:`~DeepLearningInterface._run_pass` (batches). One batch's
optimisation is :class:`moevae.training.step.OptimisationStep`; settings, resume
and checkpoints are :class:`moevae.training.run.Run`'s.

Unlike pynet, ``use_cuda=True`` on a machine without a GPU warns once and
trains on the CPU, and every bad argument is refused with a one-line error
before any work starts.
"""
import contextlib
import logging
import signal
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, \
    Union

import torch
from tqdm.auto import tqdm

from .training import checkpoint as ckpt
from .training.allocator import keep_freed_memory as tune_malloc
from .losses import build_loss
from .training.devices import resolve_device
from .training.optimizers import build_optimizer
from .training.precision import check_precision, precision_flags
from .training.step import NONFINITE
from .errors import NonFiniteLossError, \
    TrainingInterrupted, bad_type, bad_value, check_positive_int
from .training.distributed import Distributed, restarted_by_torchrun
from .history import History
from .log import console_logging, format_report
from .metrics import resolve_metrics
from .observable import Observable, Signal
from .training.prediction import Prediction
from .training.rng import kept_shared_state
from .training.run import Run
from .training.step import (PROGRESS_REFRESH, EpochTotals, OptimisationStep,
                            collect)
from .training.stop_signals import StopSignals

logger = logging.getLogger("moevae")


class DeepLearningInterface(Prediction, Observable):
    """Train ``model`` with ``loss``; observers watch the epochs.

    Parameters
    ----------
    model: the torch module to train (keyword, as in pynet).
    loss: a callable ``loss(outputs, *targets)``, or ``loss_name`` of a
        torch.nn loss class.
    optimizer_name, learning_rate, **kwargs: a torch.optim class by name,
        its learning rate and its other arguments (or ``optimizer=``).
    metrics: callables ``metric(outputs, *targets)`` or pynet's metric
        names ('accuracy', ...: moevae.metrics.resolve_metrics), averaged
        per epoch.
    use_cuda: train on the GPU when there is one (else warn, use the CPU).
    device: 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device (overrides
        use_cuda).
    pretrained: a checkpoint or state dict whose weights are loaded.
    resume: with ``pretrained``, also restore the optimizer state.
    precision: 'fp32' (default), 'tf32' (CUDA matmuls, while training) or
        'bf16' autocast.
    nonfinite: 'raise' (stop at a NaN/inf loss) or 'skip' such batches;
        either way a non-finite step never reaches the weights.
    keep_checkpoints: how many recent checkpoints to keep (plus best.pth).
    compile: run forward pass and loss through torch.compile, as one graph
        (with CUDA graphs, mode 'reduce-overhead', on a GPU); the first
        epoch pays the compile.
    keep_freed_memory: on the CPU, tune glibc's malloc to keep freed
        memory for reuse (faster steps; process-wide and never undone, so
        off unless asked; the ``moevae`` command turns it on).

    Raises MoEVAEValueError / MoEVAETypeError (one line) for a bad argument.
    """

    def __init__(self, net_params: Any = None, pretrained: Optional[str] = None,
                 resume: bool = False, add_labels: bool = False,
                 optimizer_name: str = "Adam", learning_rate: float = 1e-3,
                 loss_name: str = "NLLLoss", metrics: Optional[Sequence] = None,
                 use_cuda: bool = False, *, model: torch.nn.Module = None,
                 loss: Any = None, optimizer: Optional[torch.optim.Optimizer] = None,
                 device: Union[str, torch.device, None] = None,
                 precision: str = "fp32", nonfinite: str = "raise",
                 keep_checkpoints: int = 2, compile: bool = False,
                 keep_freed_memory: bool = False, **kwargs: Any):
        super().__init__(signals=list(Signal))
        if net_params is not None:
            raise bad_value("net_params", net_params, "None (give the "
                            "network itself as model=)")
        if not isinstance(model, torch.nn.Module):
            raise bad_type("model", model, "a torch.nn.Module")
        if nonfinite not in NONFINITE:
            raise bad_value("nonfinite", nonfinite, f"one of {NONFINITE}")
        for name, flag in (("resume", resume), ("add_labels", add_labels),
                           ("use_cuda", use_cuda), ("compile", compile),
                           ("keep_freed_memory", keep_freed_memory)):
            if not isinstance(flag, bool):
                raise bad_type(name, flag, "True or False")
        ignored = [f"{name}={value!r}" for name, value, default in (
            ("optimizer_name", optimizer_name, "Adam"),
            ("learning_rate", learning_rate, 1e-3)) if value != default] + \
            [f"{name}={value!r}" for name, value in kwargs.items()]
        if optimizer is not None and ignored:
            raise bad_value("optimizer", type(optimizer).__name__, "no "
                            f"optimizer_name/learning_rate/options with it "
                            f"(given: {', '.join(ignored)}): build the "
                            "optimizer with them")
        if loss is not None and loss_name != "NLLLoss":
            raise bad_value("loss_name", loss_name, "no loss_name with loss= "
                            "(one or the other)")
        check_positive_int("keep_checkpoints", keep_checkpoints)
        self.distributed = Distributed.from_environment()  # torchrun's
        self.device = self.distributed.device(resolve_device(device,
                                                             use_cuda))
        check_precision(precision, self.device)
        self.model = model.to(self.device)
        self.distributed.join(self.device)
        # what the training steps run: a DDP copy under torchrun
        self.trained_model = self.distributed.wrap(self.model, self.device)
        if pretrained is not None:
            payload = ckpt.load_checkpoint(pretrained, map_location=self.device)
            ckpt.load_model_state(model, ckpt.model_state(payload), pretrained)
        self.optimizer = optimizer or build_optimizer(
            optimizer_name, model.parameters(), learning_rate, kwargs)
        if resume:
            if pretrained is None or "optimizer" not in payload:
                raise bad_value("resume", resume, "pretrained= a checkpoint "
                                "holding an optimizer state (to continue a "
                                "run, use training(..., resume=True))")
            ckpt.load_optimizer_state(self.optimizer, payload["optimizer"],
                                      pretrained)
        self.loss = build_loss(loss, loss_name)
        self.metrics = resolve_metrics(metrics)
        self.add_labels, self.precision = add_labels, precision
        self.nonfinite, self.keep_checkpoints = nonfinite, keep_checkpoints
        self.keep_freed_memory = keep_freed_memory
        self.board = None
        self.step = OptimisationStep(self, compile=compile)
        self.skipped_batches = 0

    # -- training --------------------------------------------------------
    def training(self, manager, nb_epochs: int, checkpointdir: Optional[str] = None,
                 fold_index: Optional[int] = None, scheduler: Any = None,
                 with_validation: bool = True, save_after_epochs: int = 1,
                 add_labels: bool = False, resume: bool = False
                 ) -> Tuple[History, Optional[History]]:
        """Train on each fold (or ``fold_index`` only) for ``nb_epochs``.

        Returns (train_history, valid_history), as pynet does.
        ``resume=True`` continues from the newest complete checkpoint in
        ``checkpointdir``, with the settings given now (see moevae.training.run);
        ``nb_epochs`` larger than the saved run's continues it.
        Raises MoEVAEValueError before any batch for a bad setting,
        NonFiniteLossError, CheckpointWriteError, TrainingInterrupted.
        """
        self.add_labels = self.add_labels or add_labels
        if restarted_by_torchrun() and checkpointdir is not None:
            resume = True  # a worker restarted after a failure
        run = Run.plan(self, manager, nb_epochs, checkpointdir, fold_index,
                       scheduler, with_validation, save_after_epochs, resume)
        with self._training_session(), StopSignals() as stop, \
                run.folder_held(self), \
                kept_shared_state(self.model, self.device, rng=False):
            run.resume(self) if resume else run.begin(self)
            for fold in run.folds_to_train():
                loaders, first, partial = run.enter_fold(
                    fold, self, lambda f: self._loaders(manager, f, run))
                for epoch in range(first, run.nb_epochs):
                    self._train_epoch(run, loaders, fold, epoch, partial,
                                      stop)
                    partial = None
        self.notify_observers(Signal.AFTER_TRAINING, histories=(
            run.train, run.valid))
        return run.train, run.valid

    def _train_epoch(self, run: Run, loaders, fold: int, epoch: int,
                     partial: Optional[EpochTotals], stop: StopSignals
                     ) -> None:
        # also when resuming mid-epoch: observers see every epoch start
        self.notify_observers(Signal.BEFORE_EPOCH, epoch=epoch, fold=fold,
                              scheduler=run.scheduler)
        desc = f"fold {fold} epoch {epoch + 1}/{run.nb_epochs}"
        started = time.perf_counter()
        totals = self.distributed.reduce(self._run_pass(
            loaders.train, desc, totals=partial, stop=stop))
        if self._agreed_stop(stop, totals, at_end=True):
            self._interrupt(run, stop, loaders.train, fold, epoch, totals)
        kept = totals.counted
        self.skipped_batches += totals.batches - kept
        if not kept:
            raise NonFiniteLossError(f"{desc}: every batch was skipped "
                                     "(non-finite losses); nothing to train")
        values = totals.means()
        loss = values.pop("loss")
        run.step_scheduler(loss)
        elapsed = time.perf_counter() - started
        run.train.log((fold, epoch), loss=loss, **values)
        report = {"loss": loss, **values}
        if run.with_validation:
            report.update(self._validate(loaders.validation, desc, run,
                                         fold, epoch))
        report.update(epoch_time=elapsed,
                      samples_per_second=totals.samples / max(elapsed, 1e-9),
                      lr=self.optimizer.param_groups[0]["lr"],
                      batch_loss=torch.stack(totals.batch_losses).cpu().numpy())
        logger.info("%s: %s", desc, format_report(report))
        self.notify_observers(Signal.AFTER_EPOCH, epoch=epoch, fold=fold,
                              scheduler=run.scheduler, **report)
        if run.should_save(epoch):  # last: it holds every draw of the epoch
            run.save(self, fold, epoch, loaders.train,
                     val_loss=report.get("val_loss"))

    def _run_pass(self, loader, desc: str, train: bool = True,
                  totals: Optional[EpochTotals] = None,
                  stop: Optional[StopSignals] = None,
                  predictions: Optional[List[torch.Tensor]] = None,
                  layer_names: Optional[List[str]] = None) -> EpochTotals:
        """One pass over ``loader`` (training, or evaluation without
        gradients when ``train`` is False); outputs go to ``predictions``."""
        totals = totals or EpochTotals()
        self.model.train(train)
        refresh = PROGRESS_REFRESH if self.device.type == "cpu" \
            else 10 * PROGRESS_REFRESH
        watch_batches = train and (self.has_observers(Signal.BEFORE_BATCH) or
                                   self.has_observers(Signal.AFTER_BATCH))
        with tqdm(total=len(loader), initial=totals.batches, desc=desc,
                  leave=False, dynamic_ncols=True, mininterval=0.5,
                  disable=None if self.distributed.is_main else True) as bar:
            for item in loader:
                where = f"{desc}, batch {totals.batches + 1}/{len(loader)}"
                if watch_batches:
                    self.notify_observers(Signal.BEFORE_BATCH,
                                          batch=totals.batches, item=item)
                share = getattr(loader, "batch_share", None) \
                    if self.distributed.active else None
                result = self.step.train(item, where, share) if train \
                    else self.step.evaluate(item)
                totals.add(result)
                if predictions is not None:
                    predictions.append(collect(result, layer_names))
                if watch_batches:
                    self.notify_observers(
                        Signal.AFTER_BATCH, batch=totals.batches - 1,
                        loss=result.loss, outputs=result.outputs,
                        layer_outputs=result.layer_outputs)
                bar.update(1)
                if totals.batches % refresh == 0:
                    self._check_deferred(totals, desc)
                    if not bar.disable:
                        bar.set_postfix(loss=f"{totals.means()['loss']:.4g}",
                                        refresh=False)
                if stop is not None and self._agreed_stop(stop, totals):
                    break
        self._check_deferred(totals, desc)
        return totals

    def _agreed_stop(self, stop: StopSignals, totals: EpochTotals,
                     at_end: bool = False) -> bool:
        """A stop request, after this step; under torchrun every rank stops
        at the same batch (agreed every PROGRESS_REFRESH batches and at the
        epoch end, one all-reduce, as torchrun signals every rank)."""
        if not self.distributed.active:
            return stop.requested
        if totals.batches % PROGRESS_REFRESH and not at_end:
            return False
        if self.distributed.any(stop.requested, self.device):
            stop.signal_number = stop.signal_number or signal.SIGTERM
            return True
        return False

    def _check_deferred(self, totals: EpochTotals, desc: str) -> None:
        """Name the first non-finite batch of a device-side-checked pass."""
        if not (self.step.deferred and self.nonfinite == "raise"):
            return
        batch = totals.first_nonfinite()
        if batch is not None:
            raise NonFiniteLossError(
                f"{desc}: non-finite loss at batch {batch}/{totals.batches} "
                "so far; that step was not applied to the weights and the "
                "last checkpoint is kept")

    def _validate(self, loader, desc: str, run: Run, fold: int,
                  epoch: int) -> Dict[str, Any]:
        predictions: List[torch.Tensor] = []
        totals = self._run_pass(loader, desc + " validation", train=False,
                                predictions=predictions)
        values = totals.means()
        loss = values.pop("loss")
        run.valid.log((fold, epoch), loss=loss, **values)
        report = {"val_loss": loss}
        report.update({f"val_{key}": value for key, value in values.items()})
        if predictions:
            report["val_pred"] = torch.cat(predictions).cpu().numpy()
        return report

    def _loaders(self, manager, fold: int, run: Run):
        loaders = manager.get_dataloader(
            train=True, validation=run.with_validation, fold_index=fold)
        for loader in (loaders.train, loaders.validation):
            if hasattr(loader, "to"):
                loader.to(self.device)
        if self.distributed.active:  # one order, a share for each rank
            train = loaders.train
            train.generator.set_state(self.distributed.same_as_main(
                train.generator.get_state()))
            train.shard(self.distributed.rank, self.distributed.world_size)
        return loaders

    @contextlib.contextmanager
    def _training_session(self) -> Iterator[None]:
        """Process-wide settings that hold only while training runs."""
        if self.keep_freed_memory and self.device.type == "cpu":
            tune_malloc()
        level = logging.INFO if self.distributed.is_main else logging.WARNING
        with console_logging(level), precision_flags(self.precision,
                                                     self.device):
            yield

    @property
    def runs_side_effects(self) -> bool:
        """Only rank 0 draws, logs and writes (see moevae.training.distributed)."""
        return self.distributed.is_main

    def observer_guard(self):
        """Observers leave the model's modes, the RNG streams and the grad
        mode as they found them (see moevae.observable)."""
        return kept_shared_state(self.model, self.device)

    def _interrupt(self, run: Run, stop: StopSignals, loader, fold: int,
                   epoch: int, totals: EpochTotals):
        where = f"fold {fold}, epoch {epoch + 1}, batch {totals.batches}"
        if run.checkpointer is None:
            saved = "no checkpoint written (no checkpointdir)"
        else:
            path = run.save(self, fold, epoch, loader, totals=totals)
            saved = (f"checkpoint {path}; resume with "
                     f"`moevae train --resume {run.checkpointer.directory}` "
                     "or training(..., resume=True)")
        self.close()
        raise TrainingInterrupted(f"{stop.name}: training stopped at "
                                  f"{where}; {saved}", stop.signal_number)

    def close(self, timeout: float = 10.0) -> None:
        """Flush the board's queue (if there is a board)."""
        if self.board is not None and hasattr(self.board, "flush"):
            self.board.flush(timeout)
