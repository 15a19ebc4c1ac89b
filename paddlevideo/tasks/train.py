"""Training loop: epochs of (accumulated) updates, checkpoints, validation, resume and pre-emption.

No model-specific branches. Where the run is is always ``(epoch, step)``: the epoch in progress and
the next micro-batch within it. A checkpoint records that position with everything else a resume
needs (``train_checkpoint.py``), the batch order is a function of (seed, epoch) and every sample's
augmentation a function of (seed, epoch, index), so a resumed run continues exactly where the
stopped one was -- at an epoch end, or mid-epoch after SIGTERM/SIGINT or ``save_steps``.
"""
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Dict, Optional

import paddle

from ..config.defaults import DEFAULTS, setting
from ..errors import ConfigError, TrainingError
from ..loader.batch import split_batch
from ..loader.builder import build_loader, close_loader_iterator, loader_settings
from ..metrics import build_metric
from ..modeling.builder import build_model
from ..modeling.token_selection import set_training_progress
from ..modeling.weights.loading import load_weights
from ..solver import build_optimizer, build_param_groups
from ..utils.checkpoint import (
    load_file,
    optimizer_state_for_loading,
    optimizer_state_for_saving,
    save_atomic,
)
from ..utils.logger import get_logger
from ..utils.meters import ProgressMeter
from ..utils.metrics_writer import MetricsWriter
from ..utils.preemption import StopRequest
from ..utils.profiler import StepProfiler
from ..utils.run_lock import run_lock
from ..utils.runtime import Precision, any_rank, init_distributed, rank, world_size
from .accumulation import AccumulationGroups, accumulation_steps
from .eval_forward import build_eval_forward
from .evaluate import evaluate, summarize, unwrap_data_parallel
from .failures import TrainingFailures, max_failure_ratio
from .train_checkpoint import (
    find_resumable,
    gather_rng_states,
    load_checkpoint,
    reporting_save_errors,
    restore_rng_states,
    resume_states,
    save_checkpoint,
)


def until_stopped(batches, stop: StopRequest):
    """The loader's batches, ending early when a read was abandoned because the run is stopping
    (``loader/deadline.py``: the loader raises; any other loader error still propagates)."""
    try:
        yield from batches
    except Exception:
        if not stop.requested_here():
            raise


@dataclass
class TrainOptions:
    """The command line's say in a training run (``main.py`` flags)."""
    weights: Optional[str] = None
    validate: bool = False
    amp: bool = False
    amp_level: str = "O1"
    amp_dtype: str = "float16"
    resume: Optional[str] = None
    seed: int = DEFAULTS["seed"]
    max_iters: Optional[int] = None
    profiler_options: Optional[str] = None


class Trainer:
    """Holds what one training run needs; ``fit`` runs it."""

    def __init__(self, cfg: Dict, options: TrainOptions):
        self.cfg, self.options, self.logger = cfg, options, get_logger()
        self.parallel = init_distributed()
        self.precision = Precision(options.amp, options.amp_level, options.amp_dtype)
        self.model = build_model(cfg["MODEL"])
        if options.weights:
            load_weights(self.model, load_file(options.weights, "-w weights"), source=options.weights,
                         strict=False)
        self.train_loader = build_loader(cfg, "train", options.seed)
        self.valid_loader = build_loader(cfg, "valid") if options.validate else None
        self.eval_forward = build_eval_forward(self.model, cfg, self.precision) if options.validate else None
        self.failures = TrainingFailures(self.train_loader.dataset, max_failure_ratio(cfg["DATASET"]),
                                         world_size())
        batch_size = loader_settings(cfg["DATASET"], "train")[0]
        self.groups = AccumulationGroups(min(len(self.train_loader), options.max_iters or len(self.train_loader)),
                                         accumulation_steps(cfg, batch_size, world_size()))
        self.epochs = int(cfg.get("epochs", 1))
        self.optimizer, self.lr = build_optimizer(cfg["OPTIMIZER"], self.model,
                                                  self.groups.updates_per_epoch(), self.epochs)
        self.param_groups = build_param_groups(cfg["OPTIMIZER"], self.model)  # lr_mult, freeze_epochs
        self.model, self.optimizer = self.precision.decorate(self.model, self.optimizer)
        self.scaler = self.precision.scaler()
        if self.parallel:
            self.model = paddle.DataParallel(self.model)
        self.metric = build_metric(cfg["METRIC"])
        self.epoch, self.step, self.best_top1, self.skipped_updates = 0, 0, -1.0, 0
        self.name, self.out = cfg["model_name"], cfg["output_dir"]
        self.save_steps = int(cfg.get("save_steps", 0))
        self.last_checkpoint = "none yet"
        self.profiler = StepProfiler(options.profiler_options) if options.profiler_options else None
        self.metrics = MetricsWriter(os.path.join(self.out, "visualdl"), bool(cfg.get("use_visualdl", False)),
                                     rank())

    # ---------------------------------------------------------------- checkpoints
    def checkpoint_prefix(self, tag: str) -> str:
        return os.path.join(self.out, f"{self.name}_{tag}")

    def save(self, tag: str, validated: bool = True) -> None:
        """Save the run at its current position as ``<model_name>_<tag>.pdparams/.pdopt`` (rank 0).

        A save that fails (``output_dir`` full or read-only) stops the run rather than training on
        without checkpoints: work that cannot be saved is lost at the next stop anyway, while the
        previous pair is whole and ``--resume auto`` continues from it once the directory has room.

        Raises:
            OutputDirError: naming the directory, its free space and the last good checkpoint.
        """
        prefix = self.checkpoint_prefix(tag)
        rng = gather_rng_states()  # a collective, so before the rank test: every rank takes part
        if rank() == 0:
            state = {"epoch": self.epoch, "step": self.step, "best_top1": self.best_top1,
                     "validated": validated, "seed": self.options.seed,
                     "optimizer": optimizer_state_for_saving(self.optimizer, unwrap_data_parallel(self.model))}
            if self.scaler:
                state["scaler"] = self.scaler.state_dict()
            with reporting_save_errors(prefix, self.last_checkpoint):
                save_checkpoint(prefix, unwrap_data_parallel(self.model).state_dict(), state, rng)
            self.logger.info("saved %s.pdparams (epoch %d, step %d)", prefix, self.epoch + (self.step > 0),
                             self.step)
        self.last_checkpoint = prefix + ".pdparams"

    def resume(self, path: str) -> None:
        """Continue from a checkpoint (``auto``: the newest complete one in ``output_dir``).

        Epoch checkpoints are written before validation, so a run stopped during (or before) the
        validation of its last epoch validates that epoch again first. The model is already decorated
        for AMP: after O2 its parameters are float16/bfloat16 (``resume_states`` fits the checkpoint).
        """
        if path == "auto":
            path = find_resumable(self.out, self.name)
            if path is None:
                self.logger.info("--resume auto: no checkpoint of %s in %s, starting fresh", self.name, self.out)
                return
        model = unwrap_data_parallel(self.model)
        weights, state = load_checkpoint(path)
        weights, optimizer_state = resume_states(weights, state["optimizer"], model)
        load_weights(model, weights, source=path)
        self.optimizer.set_state_dict(optimizer_state_for_loading(optimizer_state, model))
        if self.scaler and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step = int(state["epoch"]), int(state.get("step", 0))
        self.best_top1 = float(state.get("best_top1", -1.0))
        if state.get("seed", self.options.seed) != self.options.seed:
            self.logger.warning("resuming with --seed %s but the checkpoint was trained with seed %s: the data "
                                "order will differ from the interrupted run", self.options.seed, state["seed"])
        if "rng" in state:
            restore_rng_states(state["rng"])
        self.last_checkpoint = path
        self.logger.info("resumed from %s at epoch %d, step %d", path, self.epoch + 1, self.step)
        if self.options.validate and not state.get("validated", True):
            self.validate_epoch(self.epoch - 1)

    # ---------------------------------------------------------------- one update
    def backward(self, loss: paddle.Tensor, batch: int) -> None:
        """Backward of one micro-batch weighted within its accumulation group; gradients are
        all-reduced only with the group's last micro-batch."""
        loss = loss * self.groups.weight(batch)
        last = self.groups.closes_group(batch)
        with self.model.no_sync() if self.parallel and not last else nullcontext():
            (self.scaler.scale(loss) if self.scaler else loss).backward()

    def update(self) -> None:
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
            # Paddle's scaler records whether it skipped the step (inf/nan gradients) only here.
            self.skipped_updates += bool(getattr(self.scaler, "_cache_found_inf", False))
        else:
            self.optimizer.step()
        self.optimizer.clear_grad()
        if isinstance(self.lr, paddle.optimizer.lr.LRScheduler):
            self.lr.step()

    def check_finite(self, loss: float) -> None:
        """Stop on a non-finite loss, on every rank at the same micro-batch: a rank stopping alone would
        leave the others waiting in the gradient all-reduce. A loss scaler skips such updates itself.

        Raises:
            TrainingError: the loss of this rank, or of another, is not finite (naming where, and the
                last good checkpoint).
        """
        if self.scaler or not any_rank(not math.isfinite(loss)):
            return
        what = loss if not math.isfinite(loss) else "not finite on another rank"
        raise TrainingError(f"the training loss is {what} at epoch {self.epoch + 1}, batch {self.step + 1}; "
                            f"stopping. The last good checkpoint is {self.last_checkpoint}")

    # ---------------------------------------------------------------- epochs
    def prepare_epoch(self) -> None:
        """Point the sampler and the dataset's per-sample seeds at (epoch, step)."""
        self.train_loader.batch_sampler.set_epoch(self.epoch, self.step)
        self.train_loader.dataset.seed_samples(self.options.seed, self.epoch)
        self.param_groups.set_epoch(self.epoch)

    def train_epoch(self, stop: StopRequest) -> bool:
        """Run the rest of the current epoch; False if stopped by a signal (after checkpointing)."""
        self.model.train()
        self.prepare_epoch()
        meter = ProgressMeter(self.groups.num_batches)
        batches = iter(self.train_loader)
        try:
            finished = self.run_batches(batches, meter, stop)
        finally:
            close_loader_iterator(batches)
        if finished:
            self.log_epoch_end(meter)
        return finished

    def run_batches(self, batches, meter: ProgressMeter, stop: StopRequest) -> bool:
        total, log_interval = self.groups.num_batches, setting(self.cfg, "log_interval")
        for batch in until_stopped(batches, stop):
            meter.data_ready()
            inputs, meta = split_batch(batch)
            self.failures.record(meta.failures)
            self.failures.record_short(meta.short)
            # Training progress in [0, 1] for schedules inside the model (STTS's sigma decay).
            set_training_progress(unwrap_data_parallel(self.model), (self.epoch * total + self.step) / (self.epochs * total))
            with self.precision.autocast():
                outputs = self.model(inputs, mode="train")
            # Waits for the forward, once: the loss must be known before backward to stop at this
            # micro-batch, and batch_time needs the device done; the further values copy from an idle stream.
            values = {k: float(v) for k, v in outputs.items()}
            self.check_finite(values["loss"])
            self.backward(outputs["loss"], self.step)
            closes_group = self.groups.closes_group(self.step)
            if closes_group:
                self.update()
            self.step += 1
            meter.step(values, inputs[0].shape[0])
            if self.step % log_interval == 0 or self.step == total:
                self.log_step(meter, values)
            if self.profiler:
                self.profiler.step()
            if self.checkpoint_due(stop, closes_group):
                return False
            if self.step == total:  # --max_iters may end the epoch before the sampler does
                break
        if self.step < total and stop.requested_here():  # the loader gave up a read for the stop
            return not self.checkpoint_due(stop, closes_group=False)
        return True

    def updates_done(self) -> int:
        """Optimiser updates since the start of training (the LR schedule's and VisualDL's step)."""
        return self.epoch * self.groups.updates_per_epoch() + -(-self.step // self.groups.steps)

    def log_step(self, meter: ProgressMeter, values: Dict[str, float]) -> None:
        total = self.groups.num_batches
        self.logger.info("epoch [%d/%d] %s lr: %.6f", self.epoch + 1, self.epochs,
                         meter.summary(self.step, total * (self.epochs - self.epoch - 1)), self.optimizer.get_lr())
        self.metrics.scalars("train", {**values, "lr": self.optimizer.get_lr(), "clips_per_s": meter.throughput()},
                             self.updates_done())

    def checkpoint_due(self, stop: StopRequest, closes_group: bool) -> bool:
        """After a micro-batch: save ``latest`` every ``save_steps`` updates, or on a stop request;
        True if training must stop.

        A stop inside an accumulation group drops the group's partial gradients and records the
        group's first micro-batch as the position, so the resumed run redoes exactly that group.
        """
        if stop.requested():
            if not closes_group:
                self.step -= self.step % self.groups.steps
                self.optimizer.clear_grad()
            self.save("latest")
            self.logger.info("%s received: stopped at epoch %d, batch %d; continue with --resume %s "
                             "(or --resume auto)", stop.name or "a stop request", self.epoch + 1, self.step,
                             self.last_checkpoint)
            return True
        if closes_group and self.save_steps and self.updates_done() % self.save_steps == 0:
            self.save("latest")
        return False

    def log_epoch_end(self, meter: ProgressMeter) -> None:
        averages = " ".join(f"{k}: {v:.5f}" for k, v in meter.averages().items())
        skipped = f", {self.skipped_updates} update(s) skipped by the loss scaler" if self.scaler else ""
        failed, short = self.failures.end_epoch()
        self.logger.info("END epoch [%d/%d] train %s time %.1fs, %d unreadable video(s) replaced, %d sampled "
                         "from part of their frames%s", self.epoch + 1, self.epochs, averages,
                         time.time() - meter.start, failed, short, skipped)
        self.skipped_updates = 0

    def validate_epoch(self, epoch: int) -> None:
        outputs = evaluate(self.model, self.valid_loader, self.precision, setting(self.cfg, "log_interval"),
                           tag=f"val epoch {epoch + 1}", forward=self.eval_forward)
        results = summarize(outputs, self.metric, unwrap_data_parallel(self.model).head.loss_func)
        self.metrics.scalars("val", {k: results[k] for k in ("loss", "top1", "top5", "mean_class_accuracy")},
                             epoch + 1)
        self.logger.info("epoch [%d/%d] validation: %s: loss %.5f top1 %.4f top5 %.4f mean class "
                         "accuracy %.4f", epoch + 1, self.epochs, outputs.coverage(), results["loss"],
                         results["top1"], results["top5"], results["mean_class_accuracy"])
        if results["scored"] and results["top1"] > self.best_top1:
            self.best_top1 = results["top1"]
            if rank() == 0:
                best = self.checkpoint_prefix("best") + ".pdparams"
                with reporting_save_errors(best, self.last_checkpoint):
                    save_atomic(unwrap_data_parallel(self.model).state_dict(), best)
            self.logger.info("new best top1 %.4f -> %s.pdparams", self.best_top1,
                             self.checkpoint_prefix("best"))

    def end_epoch(self) -> None:
        """Epoch checkpoint first (nothing trained is lost to an evaluation problem), then validation."""
        epoch, last = self.epoch, self.epoch + 1 == self.epochs
        validate = self.options.validate and ((epoch + 1) % self.cfg.get("val_interval", 1) == 0 or last)
        self.epoch, self.step = epoch + 1, 0
        if (epoch + 1) % self.cfg.get("save_interval", 1) == 0 or last:
            self.save(f"epoch_{epoch + 1:05d}", validated=not validate)
        if validate:
            self.validate_epoch(epoch)

    def fit(self) -> float:
        """Train the remaining epochs; returns the best validation top-1 (-1 without validation)."""
        with StopRequest() as stop, self.metrics:
            while self.epoch < self.epochs:
                if not self.train_epoch(stop):
                    return self.best_top1
                self.end_epoch()
        self.logger.info("training %s finished; best top1 %.4f", self.name, self.best_top1)
        return self.best_top1


def train_model(cfg: Dict, weights: Optional[str] = None, parallel: bool = True, validate: bool = False,
                use_amp: bool = False, amp_level: Optional[str] = None, max_iters: Optional[int] = None,
                use_fleet: bool = False, profiler_options: Optional[str] = None, *,
                amp_dtype: str = "float16", resume: Optional[str] = None, seed: int = DEFAULTS["seed"]) -> float:
    """Train from a config; returns the best validation top-1 (-1 without validation).

    PaddleVideo's signature and meaning: ``parallel`` is implied by how the process was launched (kept
    for compatibility), ``max_iters`` caps the batches of every epoch, ``profiler_options`` profiles a
    range of steps (``utils/profiler.py``). Fleet training is not supported (``paddle.distributed.launch``
    data parallelism is). Rank 0 holds ``output_dir``'s run lock throughout (``utils/run_lock.py``).

    Raises:
        OutputDirError: another live run trains into ``output_dir``, or a checkpoint cannot be saved.
    """
    if use_fleet:
        raise ConfigError("fleet training (--fleet) is not supported; launch with "
                          "python -m paddle.distributed.launch for data-parallel training")
    options = TrainOptions(weights, validate, use_amp, amp_level or "O1", amp_dtype, resume, seed, max_iters,
                           profiler_options)
    with run_lock(cfg["output_dir"]) if rank() == 0 else nullcontext():
        trainer = Trainer(cfg, options)
        if resume:
            trainer.resume(resume)
        return trainer.fit()
