"""Training loop: one epoch, validation, checkpoints, resume. No model-specific branches."""
import math
import os
import time
from typing import Dict, Optional

import paddle

from ..loader.batch import split_batch
from ..loader.builder import WorkerSeeder, build_loader, loader_settings
from ..metrics import build_metric
from ..modeling.builder import build_model
from ..registry import ConfigError
from ..solver import build_optimizer
from ..utils.checkpoint import (load_file, load_weights, optimizer_state_for_loading,
                                optimizer_state_for_saving, save_atomic)
from ..utils.logger import get_logger
from ..utils.meters import ProgressMeter
from ..utils.runtime import Precision, init_distributed, rank, world_size
from .evaluate import evaluate, summarize, unwrap
from .failures import TrainingFailures, max_failure_ratio


def accumulation_steps(cfg: Dict, batch_size: int) -> int:
    """Gradient accumulation from ``GRADIENT_ACCUMULATION.global_batch_size`` (1 when absent)."""
    global_bs = cfg.get("GRADIENT_ACCUMULATION", {}).get("global_batch_size")
    if not global_bs:
        return 1
    per_step = batch_size * world_size()
    if global_bs % per_step:
        raise ConfigError(f"GRADIENT_ACCUMULATION.global_batch_size ({global_bs}) must be a multiple of "
                          f"batch_size x GPUs ({batch_size} x {world_size()})")
    return global_bs // per_step


class Trainer:
    """Holds what one training run needs; ``fit`` runs it."""

    def __init__(self, cfg: Dict, weights: Optional[str] = None, validate: bool = False,
                 amp: bool = False, amp_level: str = "O1", seed: Optional[int] = None):
        self.cfg, self.validate, self.logger = cfg, validate, get_logger()
        self.parallel = init_distributed()
        self.precision = Precision(amp, amp_level)
        self.model = build_model(cfg["MODEL"])
        if weights:
            load_weights(self.model, load_file(weights, "-w weights"), source=weights, strict=False)
        self.seeder = WorkerSeeder(seed, rank())
        self.train_loader = build_loader(cfg, "train", self.parallel, self.seeder)
        self.valid_loader = build_loader(cfg, "valid", self.parallel, self.seeder) if validate else None
        self.failures = TrainingFailures(self.train_loader.dataset, max_failure_ratio(cfg["DATASET"]),
                                         world_size())
        self.accum = accumulation_steps(cfg, loader_settings(cfg["DATASET"], "train")[0])
        self.epochs = int(cfg.get("epochs", 1))
        steps = math.ceil(len(self.train_loader) / self.accum)
        self.optimizer, self.lr = build_optimizer(cfg["OPTIMIZER"], self.model, steps, self.epochs)
        self.model, self.optimizer = self.precision.decorate(self.model, self.optimizer)
        self.scaler = self.precision.scaler()
        if self.parallel:
            self.model = paddle.DataParallel(self.model)
        self.metric = build_metric(cfg["METRIC"])
        self.start_epoch, self.best_top1 = 0, -1.0
        self.name = cfg["model_name"]
        self.out = cfg["output_dir"]

    def backward_step(self, loss: paddle.Tensor, step_now: bool) -> None:
        loss = loss / self.accum
        if self.scaler:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        if not step_now:
            return
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.clear_grad()
        if isinstance(self.lr, paddle.optimizer.lr.LRScheduler):
            self.lr.step()

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        self.model.train()
        self.seeder.epoch = epoch
        loader, total = self.train_loader, len(self.train_loader)
        meter = ProgressMeter(total)
        for i, batch in enumerate(loader):
            meter.data_ready()
            inputs, meta = split_batch(batch)
            self.failures.record(meta.failures)
            with self.precision.autocast():
                outputs = self.model(inputs, mode="train")
            self.backward_step(outputs["loss"], (i + 1) % self.accum == 0 or i + 1 == total)
            meter.step({k: float(v) for k, v in outputs.items()}, inputs[0].shape[0])
            if (i + 1) % self.cfg.get("log_interval", 10) == 0 or i + 1 == total:
                remaining = total * (self.epochs - epoch - 1)
                self.logger.info("epoch [%d/%d] %s lr: %.6f", epoch + 1, self.epochs,
                                 meter.summary(i + 1, remaining), self.optimizer.get_lr())
        return meter.averages()

    def checkpoint_path(self, tag: str, ext: str = ".pdparams") -> str:
        return os.path.join(self.out, f"{self.name}_{tag}{ext}")

    def save_epoch(self, epoch: int) -> None:
        if rank() != 0:
            return
        tag = f"epoch_{epoch + 1:05d}"
        state = {"epoch": epoch + 1, "best_top1": self.best_top1, "validated": False,
                 "optimizer": optimizer_state_for_saving(self.optimizer, unwrap(self.model))}
        if self.scaler:
            state["scaler"] = self.scaler.state_dict()
        save_atomic(state, self.checkpoint_path(tag, ".pdopt"))
        save_atomic(unwrap(self.model).state_dict(), self.checkpoint_path(tag))
        self.logger.info("saved %s", self.checkpoint_path(tag))

    def resume(self, path: str) -> None:
        """Continue from ``<name>_epoch_N.pdparams`` and its ``.pdopt`` (optimizer, LR, epoch, best).

        Epoch checkpoints are written before validation, so a run stopped during (or before) the
        validation of its last epoch validates that epoch again first.
        """
        load_weights(unwrap(self.model), load_file(path, "--resume checkpoint"), source=path)
        state = load_file(os.path.splitext(path)[0] + ".pdopt", "--resume optimizer state")
        self.optimizer.set_state_dict(optimizer_state_for_loading(state["optimizer"], unwrap(self.model)))
        if self.scaler and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.start_epoch, self.best_top1 = int(state["epoch"]), float(state["best_top1"])
        self.logger.info("resumed from %s at epoch %d", path, self.start_epoch)
        if self.validate and not state.get("validated", True):
            self.validate_epoch(self.start_epoch - 1)

    def validate_epoch(self, epoch: int) -> None:
        outputs = evaluate(self.model, self.valid_loader, self.precision, self.cfg.get("log_interval", 10),
                           tag=f"val epoch {epoch + 1}")
        results = summarize(outputs, self.metric, unwrap(self.model).head.loss_func)
        self.logger.info("epoch [%d/%d] validation: %s: loss %.5f top1 %.4f top5 %.4f mean class "
                         "accuracy %.4f", epoch + 1, self.epochs, outputs.coverage(), results["loss"],
                         results["top1"], results["top5"], results["mean_class_accuracy"])
        if results["scored"] and results["top1"] > self.best_top1:
            self.best_top1 = results["top1"]
            if rank() == 0:
                save_atomic(unwrap(self.model).state_dict(), self.checkpoint_path("best"))
            self.logger.info("new best top1 %.4f -> %s", self.best_top1, self.checkpoint_path("best"))

    def fit(self) -> float:
        """Train all epochs; returns the best validation top-1 (-1 without validation)."""
        save_interval, val_interval = self.cfg.get("save_interval", 1), self.cfg.get("val_interval", 1)
        for epoch in range(self.start_epoch, self.epochs):
            start = time.time()
            averages = self.train_epoch(epoch)
            self.logger.info("END epoch [%d/%d] train %s time %.1fs, %d unreadable video(s) replaced",
                             epoch + 1, self.epochs, " ".join(f"{k}: {v:.5f}" for k, v in averages.items()),
                             time.time() - start, self.failures.end_epoch())
            last = epoch + 1 == self.epochs
            if (epoch + 1) % save_interval == 0 or last:
                self.save_epoch(epoch)  # before validation: nothing trained is lost to an evaluation problem
            if self.validate and ((epoch + 1) % val_interval == 0 or last):
                self.validate_epoch(epoch)
        self.logger.info("training %s finished; best top1 %.4f", self.name, self.best_top1)
        return self.best_top1


def train_model(cfg: Dict, weights: Optional[str] = None, validate: bool = False, amp: bool = False,
                amp_level: str = "O1", resume: Optional[str] = None, seed: Optional[int] = None) -> float:
    """Train from a config (PaddleVideo's ``train_model``); returns the best validation top-1."""
    trainer = Trainer(cfg, weights, validate, amp, amp_level, seed)
    if resume:
        trainer.resume(resume)
    return trainer.fit()
