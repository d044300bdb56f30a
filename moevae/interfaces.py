"""DeepLearningInterface: pynet's entry point, and the training loop.

``DeepLearningInterface(model=..., optimizer_name="Adam",
learning_rate=1e-3, loss=..., use_cuda=True)`` as in the seed, then
``training(manager, nb_epochs, ...)``. The whole loop reads top to bottom
here: :meth:`~DeepLearningInterface.training` (folds) ->
:meth:`~DeepLearningInterface._train_epoch` (one epoch: observers, the
training pass, scheduler, validation, history, log line, checkpoint) ->
:meth:`~DeepLearningInterface._run_pass` (batches). One batch's
optimisation is :class:`moevae.training.step.OptimisationStep`; settings,
resume and checkpoints are :class:`moevae.training.run.Run`'s. Both take
their collaborators explicitly; ``test()`` and ``testing()`` run the same
pass without gradients.

Unlike pynet, ``use_cuda=True`` on a machine without a GPU warns once and
trains on the CPU, and every bad argument is refused with a one-line error
before any work starts.
"""
import contextlib
import logging
import signal
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch
from tqdm.auto import tqdm

from .datasets import DataManager
from .datasets.arrays import DataItem
from .datasets.loaders import BatchLoader
from .errors import (
    MoEVAEValueError,
    NonFiniteLossError,
    TrainingInterrupted,
    bad_type,
    bad_value,
    check_positive_int,
)
from .history import History
from .log import console_logging, format_report
from .losses import build_loss
from .metrics import resolve_metrics
from .observable import Observable, Signal
from .training import prediction
from .training.allocator import keep_freed_memory as tune_malloc
from .training.devices import resolve_device
from .training.distributed import Distributed, restarted_by_torchrun
from .training.folds import fold_loaders
from .training.loading import load_pretrained
from .training.optimizers import optimizer_for
from .training.precision import check_precision, precision_flags
from .training.rng import kept_shared_state
from .training.run import Run, Scheduler
from .training.step import (
    PROGRESS_REFRESH,
    OptimisationStep,
    StepResult,
    check_nonfinite,
    collect,
)
from .training.stop_signals import StopSignals
from .training.totals import EpochTotals

# a DataManager's BatchLoader, or any sized iterable of pynet's DataItems
Loader = Union[BatchLoader, Sequence[DataItem]]

if TYPE_CHECKING:  # the interface draws nothing itself
    from .plotting.board import Board

logger = logging.getLogger("moevae")


class DeepLearningInterface(Observable):
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
                 use_cuda: bool = False, *,
                 model: Optional[torch.nn.Module] = None,
                 loss: Optional[Callable[..., Any]] = None,
                 optimizer: Optional[torch.optim.Optimizer] = None,
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
        for name, flag in (("resume", resume), ("add_labels", add_labels),
                           ("use_cuda", use_cuda), ("compile", compile),
                           ("keep_freed_memory", keep_freed_memory)):
            if not isinstance(flag, bool):
                raise bad_type(name, flag, "True or False")
        if resume and pretrained is None:
            raise bad_value("resume", resume, "pretrained= a checkpoint "
                            "holding an optimizer state (to continue a "
                            "run, use training(..., resume=True))")
        check_positive_int("keep_checkpoints", keep_checkpoints)
        check_nonfinite(nonfinite)  # before anything is built
        loss = build_loss(loss, loss_name)
        metric_functions = resolve_metrics(metrics)
        self.distributed = Distributed.from_environment()  # torchrun's
        self.device = self.distributed.device(resolve_device(device,
                                                             use_cuda))
        check_precision(precision, self.device)
        self.model = model.to(self.device)
        optimizer = optimizer_for(optimizer, optimizer_name,
                                  model.parameters(), learning_rate, kwargs)
        if pretrained is not None:
            load_pretrained(model, optimizer if resume else None, pretrained,
                            self.device)
        self.distributed.join(self.device)
        # what the training steps run: a DDP copy under torchrun
        self.trained_model = self.distributed.wrap(self.model, self.device)
        self.keep_checkpoints = keep_checkpoints
        self.keep_freed_memory = keep_freed_memory
        self.board: Optional[Board] = None  # drawn on by its observers
        self.step = OptimisationStep(
            self.model, loss, optimizer, self.device,
            trained_model=self.trained_model, distributed=self.distributed,
            precision=precision, nonfinite=nonfinite,
            metrics=metric_functions, add_labels=add_labels,
            regularizers=self._regularizers, compile=compile)
        self.skipped_batches = 0
        # the histories of the newest training() once it started (also when
        # it failed later): what its completed epochs logged
        self.histories: Optional[Tuple[History, History]] = None

    # pynet's attributes, held by the step that uses them
    optimizer = property(lambda self: self.step.optimizer)
    loss = property(lambda self: self.step.loss)
    metrics = property(lambda self: self.step.metrics)
    precision = property(lambda self: self.step.precision)
    nonfinite = property(lambda self: self.step.nonfinite)
    add_labels = property(lambda self: self.step.add_labels)

    def _regularizers(self, layer_outputs: Optional[dict]
                      ) -> List[torch.Tensor]:
        """Extra loss terms from ``regularizer`` observers."""
        if not self.has_observers(Signal.REGULARIZER):
            return []
        return self.notify_observers(Signal.REGULARIZER, strict=True,
                                     layer_outputs=layer_outputs)

    # -- training --------------------------------------------------------
    def training(self, manager: DataManager, nb_epochs: int,
                 checkpointdir: Optional[str] = None,
                 fold_index: Optional[int] = None,
                 scheduler: Optional[Scheduler] = None,
                 with_validation: bool = True, save_after_epochs: int = 1,
                 add_labels: bool = False, resume: bool = False
                 ) -> Tuple[History, History]:
        """Train on each fold (or ``fold_index`` only) for ``nb_epochs``.

        Returns (train_history, valid_history), as pynet does.
        ``resume=True`` continues from the newest complete checkpoint in
        ``checkpointdir``, with the settings given now (see moevae.training.run);
        ``nb_epochs`` larger than the saved run's continues it.
        Raises MoEVAEValueError before any batch for a bad setting,
        NonFiniteLossError, CheckpointWriteError, TrainingInterrupted.
        """
        self.step.add_labels = self.step.add_labels or add_labels
        if restarted_by_torchrun() and checkpointdir is not None:
            resume = True  # a worker restarted after a failure
        run = Run.plan(self.model, self.optimizer, self.device,
                       self.distributed, manager, nb_epochs, checkpointdir,
                       fold_index, scheduler, with_validation,
                       save_after_epochs, resume, self.keep_checkpoints)
        with (self._training_session(), StopSignals() as stop,
              run.folder_held(),
              kept_shared_state(self.model, self.device, rng=False)):
            run.resume() if resume else run.begin()
            self.histories = (run.train, run.valid)
            resume_at = getattr(self.board, "resume_at", None)
            if resume and resume_at is not None:
                # the board drops what was drawn after the checkpoint
                where = run.start or {"fold": run.folds_to_train()[0],
                                      "epoch": 0}
                resume_at(where["fold"], where["epoch"])
            for fold in run.folds_to_train():
                start = run.enter_fold(fold)
                loaders = fold_loaders(manager, fold, run.with_validation,
                                       self.device, self.distributed)
                first, partial = run.position_in_fold(start, loaders.train)
                for epoch in range(first, run.nb_epochs):
                    self._train_epoch(run, loaders, fold, epoch, partial,
                                      stop)
                    partial = None
        self.notify_observers(Signal.AFTER_TRAINING, histories=(
            run.train, run.valid))
        finish = getattr(self.board, "finish", None)
        if finish is not None:  # a finished run says so
            finish()
        return run.train, run.valid

    def _train_epoch(self, run: Run, loaders, fold: int, epoch: int,
                     partial: Optional[EpochTotals], stop: StopSignals
                     ) -> None:
        # also when resuming mid-epoch: observers see every epoch start
        self.notify_observers(Signal.BEFORE_EPOCH, epoch=epoch, fold=fold,
                              scheduler=run.scheduler)
        desc = f"fold {fold} epoch {epoch + 1}/{run.nb_epochs}"
        started = time.perf_counter()
        # a resumed epoch's restored totals carry samples drawn before
        restored = partial.samples if partial is not None else 0
        if partial is not None and self.distributed.active:
            # every rank resumes the same epoch; its sums are every rank's
            restored = int(self.distributed.sum(torch.tensor(
                [float(restored)], device=self.device))[0])
        totals = self._run_pass(loaders.train, desc, totals=partial,
                                stop=stop).all_reduce(self.distributed)
        if stop.agreed(self.distributed, self.device, totals.batches,
                       at_end=True):
            self._interrupt(run, stop, loaders.train, fold, epoch, totals)
        if not totals.batches:  # not one batch drawn, none skipped
            raise MoEVAEValueError(
                f"{desc}: the training loader gave no batch (batch_size="
                f"{getattr(loaders.train, 'batch_size', '?')}, drop_last="
                f"{getattr(loaders.train, 'drop_last', '?')}); expected a "
                "sampler that draws at least one full batch")
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
        report: Dict[str, Any] = {"loss": loss, **values}
        if run.with_validation:
            report.update(self._validate(loaders.validation, desc, run,
                                         fold, epoch))
        drawn = totals.samples - restored  # by this attempt, every rank
        if drawn > 0:  # a resume after an epoch's last batch timed nothing
            report.update(epoch_time=elapsed,
                          samples_per_second=drawn / max(elapsed, 1e-9))
        report.update(lr=self.optimizer.param_groups[0]["lr"],
                      batch_loss=torch.stack(totals.batch_losses).cpu().numpy())
        logger.info("%s: %s", desc, format_report(report))
        self.notify_observers(Signal.AFTER_EPOCH, epoch=epoch, fold=fold,
                              scheduler=run.scheduler, **report)
        if run.should_save(epoch):  # last: it holds every draw of the epoch
            run.save(fold, epoch, loaders.train,
                     val_loss=report.get("val_loss"))

    def _run_pass(self, loader: Loader, desc: str, train: bool = True,
                  totals: Optional[EpochTotals] = None,
                  stop: Optional[StopSignals] = None,
                  predictions: Optional[List[torch.Tensor]] = None,
                  layer_names: Optional[List[str]] = None) -> EpochTotals:
        """One pass over ``loader``: training steps, or (``train`` False)
        forward and loss without gradients, for validation and test();
        outputs go to ``predictions``. Each batch comes with its share of
        the global batch under torchrun (None otherwise)."""
        totals = totals or EpochTotals()
        self.model.train(train)
        refresh = PROGRESS_REFRESH if self.device.type == "cpu" else (
            10 * PROGRESS_REFRESH)
        watch_batches = train and (self.has_observers(Signal.BEFORE_BATCH) or
                                   self.has_observers(Signal.AFTER_BATCH))
        batches = loader.shared_batches() if hasattr(
            loader, "shared_batches") else ((item, None) for item in loader)
        with tqdm(total=len(loader), initial=totals.batches, desc=desc,
                  leave=False, dynamic_ncols=True, mininterval=0.5,
                  disable=None if self.distributed.is_main else True) as bar:
            for item, share in batches:
                where = f"{desc}, batch {totals.batches + 1}/{len(loader)}"
                if watch_batches:
                    self.notify_observers(Signal.BEFORE_BATCH,
                                          batch=totals.batches, item=item)
                result: StepResult = (self.step.train(item, where, share)
                                      if train else self.step.evaluate(item))
                totals.add(result.loss, result.components, result.samples,
                           result.finite, result.weight)
                if predictions is not None:
                    predictions.append(collect(result, layer_names))
                if watch_batches:
                    self.notify_observers(
                        Signal.AFTER_BATCH, batch=totals.batches - 1,
                        loss=result.loss, outputs=result.outputs,
                        layer_outputs=result.layer_outputs)
                bar.update(1)
                if totals.batches % refresh == 0:
                    self.step.check_deferred(totals, desc)
                    if not bar.disable:
                        bar.set_postfix(loss=f"{totals.means()['loss']:.4g}",
                                        refresh=False)
                if stop is not None and stop.agreed(
                        self.distributed, self.device, totals.batches):
                    break
        self.step.check_deferred(totals, desc)
        return totals

    def _validate(self, loader, desc: str, run: Run, fold: int,
                  epoch: int) -> Dict[str, Any]:
        predictions: List[torch.Tensor] = []
        totals = self._run_pass(loader, desc + " validation", train=False,
                                predictions=predictions)
        values = totals.means()
        loss = values.pop("loss")
        run.valid.log((fold, epoch), loss=loss, **values)
        report: Dict[str, Any] = {"val_loss": loss}
        report.update({f"val_{key}": value for key, value in values.items()})
        if predictions:
            report["val_pred"] = torch.cat(predictions).cpu().numpy()
        return report

    # -- pynet's test and testing: the same pass, without gradients --------
    def test(self, loader: Loader, with_logit: bool = False,
             logit_function: str = "softmax", predict: bool = False,
             concat_layer_outputs: Optional[List[str]] = None,
             is_validation: bool = False
             ) -> Tuple[Optional[np.ndarray], Optional[float],
                        Dict[str, float]]:
        """(predictions, mean loss, mean components) over ``loader``, as in
        pynet; predictions are (N, C) float32 (or (N,) int64 class indices
        with ``predict=True``). The model's modes are left as they were."""
        prediction.check_logit_function(logit_function)
        predictions: List[torch.Tensor] = []
        with (precision_flags(self.precision, self.device),
              kept_shared_state(self.model, self.device, rng=False)):
            totals = self._run_pass(loader, "test", train=False,
                                    predictions=predictions,
                                    layer_names=concat_layer_outputs)
        values = totals.means()
        loss = values.pop("loss", None)
        return (prediction.finish(predictions, with_logit, logit_function,
                                  predict), loss, values)

    def testing(self, manager: DataManager, with_logit: bool = False,
                logit_function: str = "softmax", predict: bool = False,
                concat_layer_outputs: Optional[List[str]] = None) -> tuple:
        """pynet's testing: (y, X, y_true, loss, values) on the test set."""
        loader = manager.get_dataloader(test=True).test
        y, loss, values = self.test(loader, with_logit, logit_function,
                                    predict, concat_layer_outputs)
        X, y_true = prediction.arrays_of_test_set(loader)
        return y, X, y_true, loss, values

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
            path = run.save(fold, epoch, loader, totals=totals)
            saved = (f"checkpoint {path}; resume with "
                     f"`moevae train --resume {run.checkpointer.directory}` "
                     "or training(..., resume=True)")
        self.close()
        raise TrainingInterrupted(f"{stop.name}: training stopped at "
                                  f"{where}; {saved}",
                                  stop.signal_number or signal.SIGTERM)

    def close(self, timeout: float = 10.0) -> None:
        """Flush the board's queue (if there is a board)."""
        if self.board is not None and hasattr(self.board, "flush"):
            self.board.flush(timeout)
