"""Train one target model, as open-unmix's scripts/train.py does, but resumable exactly.

Same recipe: Adam (lr, weight decay), ReduceLROnPlateau on the validation loss (factor
gamma, patience, cooldown 10), early stopping (mode min, patience), MSE between estimated
and target magnitudes of `center=False` STFTs, full-track validation at batch 1.

Different on purpose (open-unmix's resume is partial): after every epoch one checkpoint
holds model, optimizer, scheduler, early-stopping state, the best weights, the histories and
every RNG state, written atomically outside Snakemake's outputs. A killed job restarted by
Snakemake continues from its last epoch and ends exactly where an uninterrupted run ends.
On SIGTERM/SIGUSR1 (walltime, preemption) the checkpoint is written at the end of the
current batch, with the position inside the epoch, and the job exits non-zero so that
Snakemake runs it again. `epochs` and `patience` count across resumes.

The batch order of epoch e is a permutation seeded by (seed, e), and every sample is a pure
function of (seed, e, index): a resumed epoch draws exactly the remaining batches.

On a GPU (issue 20): `train.precision` bf16/fp16 runs the steps under `torch.autocast`
(fp16 with a `GradScaler`, whose state the checkpoint keeps); `train.data_path: device` mixes
and augments on the device (`umxmr.data.dataset.mix_on_device`, from a generator seeded per
(seed, epoch, batch), so a resume stays exact); pinned memory and persistent workers on CUDA
only; `cudnn.benchmark` only when `train.deterministic` is false; channels_last only for
models with 2-D convolutions (umx-mr-4), on CUDA. fp32 on the CPU is bit-identical to the
code before these options (tests/test_precision.py). A CUDA out-of-memory error is re-raised
naming the job, the batch size and what to lower.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from umxmr.atomic import atomic_path, write_text
from umxmr.data.dataset import ExcerptDataset, FullTrackDataset, mix_on_device, stack_stems
from umxmr.data.layout import TrackInfo
from umxmr.device import device_slot
from umxmr.training.interrupt import Interrupted, StopRequest, stop_on_signals
from umxmr.training.valid_sdr import VALID_SDR_EVERY, ValidSdr, sdr_due
from umxmr.models.registry import build_frontend, build_model
from umxmr.settings import settings_hash

log = logging.getLogger("umxmr.training.train")


class TrainingError(RuntimeError):
    """Training cannot go on (for example a NaN loss); the last good checkpoint is kept."""


PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(precision: str, device: torch.device):
    """`torch.autocast` to bf16/fp16 on `device`; for fp32 nothing at all (the published path)."""
    if precision not in PRECISIONS:
        raise ValueError(f"train.precision: {precision!r} is not one of {', '.join(PRECISIONS)}")
    dtype = PRECISIONS[precision]
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def configure_backends(cfg: Mapping[str, Any], device: torch.device) -> None:
    """On CUDA: deterministic kernels, or cudnn.benchmark (kernels chosen by timing) when
    `train.deterministic` is false. Nothing changes on the CPU."""
    if device.type != "cuda":
        return
    deterministic = cfg.get("deterministic", True)
    if deterministic:
        # cuBLAS needs a fixed workspace for reproducible results (CUDA >= 10.2)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic
    torch.use_deterministic_algorithms(deterministic, warn_only=True)


def _has_conv2d(model: torch.nn.Module) -> bool:
    return any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in model.modules())


class OutOfMemory(TrainingError):
    """CUDA ran out of memory; the message names the job, the batch size and what to lower."""


def out_of_memory_message(job: str, cfg: Mapping[str, Any], device: torch.device, error: BaseException) -> str:
    """What ran out, at which batch size, and what to lower."""
    peak = ""
    if device.type == "cuda":
        with contextlib.suppress(Exception):
            peak = f" (peak {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB allocated on {device})"
    return (
        f"training {job} on {device} ran out of GPU memory at train.batch_size {cfg['batch_size']}, "
        f"train.seq_dur {cfg['seq_dur']} s, precision {cfg.get('precision', 'fp32')}{peak}. Lower "
        f"train.batch_size (e.g. to {max(1, cfg['batch_size'] // 2)}) or train.seq_dur, set train.precision: "
        "bf16, or run one training per GPU (resources gpu=1 per job). Validation runs whole tracks at "
        f"batch 1: if it failed there, the tracks are too long for this GPU. ({error})"
    )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_states() -> dict[str, Any]:
    return {
        "random": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_states(states: Mapping[str, Any]) -> None:
    random.setstate(states["random"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


@dataclass
class EarlyStopping:
    """open-unmix's monitor: mode min, min_delta 0; the first value only sets `best`."""

    patience: int
    best: float | None = None
    num_bad_epochs: int = 0

    def step(self, value: float) -> bool:
        if self.best is None:
            self.best = value
            return False
        if value < self.best:
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        return self.num_bad_epochs >= self.patience


@dataclass
class History:
    """What goes into `<target>.json`, complete after every epoch."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    train_time: list[float] = field(default_factory=list)
    best_epoch: int = 0
    # train.valid_sdr: the validation SDR (dB) of each epoch, None where not computed; empty when off
    valid_sdr: list[float | None] = field(default_factory=list)
    # each stop signal that ended a job: {"signal", "epoch", "batch" (None: at the epoch's end)}
    interruptions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Progress:
    """Position inside an unfinished epoch (a checkpoint written on a stop signal)."""

    batches: int = 0
    loss_sum: float = 0.0
    seconds: float = 0.0


@dataclass
class Run:
    """Everything a checkpoint restores."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    stopper: EarlyStopping
    history: History = field(default_factory=History)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    epoch: int = 0  # last completed epoch
    progress: Progress = field(default_factory=Progress)
    scaler: Any = None  # torch.amp.GradScaler for fp16, else None

    def state(self, recipe: str) -> dict[str, Any]:
        extra = {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}
        return {
            **extra,
            "recipe": recipe,
            "epoch": self.epoch,
            "progress": vars(self.progress).copy(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "early_stopping": vars(self.stopper).copy(),
            "history": vars(self.history).copy(),
            "best_model": self.best_state,
            "rng": rng_states(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.stopper = EarlyStopping(**state["early_stopping"])
        self.history = History(**state["history"])
        self.best_state = state["best_model"]
        self.epoch = state["epoch"]
        self.progress = Progress(**state["progress"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        set_rng_states(state["rng"])

    def save(self, checkpoint: Path, recipe: str) -> None:
        with atomic_path(checkpoint) as tmp:
            torch.save(self.state(recipe), tmp)


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def new_run(settings: Mapping[str, Any], rate: float, stats, device: torch.device, extra_stats=()) -> Run:
    """Model, Adam and ReduceLROnPlateau as open-unmix's train.py sets them up."""
    cfg = settings["train"]
    model = build_model(settings, rate, *stats, extra_stats=extra_stats).to(device)
    if device.type == "cuda" and _has_conv2d(model):
        model = model.to(memory_format=torch.channels_last)  # only 4-D weights change layout
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        factor=cfg["lr_decay_gamma"],
        patience=cfg["lr_decay_patience"],
        cooldown=cfg["lr_decay_cooldown"],
    )
    scaler = torch.amp.GradScaler(device.type) if cfg.get("precision", "fp32") == "fp16" else None
    return Run(
        model, optimizer, scheduler, EarlyStopping(patience=cfg["patience"]), best_state=_snapshot(model), scaler=scaler
    )


def resume_if_possible(run: Run, checkpoint: Path, recipe: str, device: torch.device, target: str) -> None:
    """Load `checkpoint` into `run` when it was written for the same recipe."""
    if not checkpoint.is_file():
        return
    state = torch.load(checkpoint, map_location=device, weights_only=False)
    if state["recipe"] != recipe:
        log.warning("ignoring %s: it was written for other settings (recipe %s, now %s)", checkpoint, state["recipe"], recipe)
        return
    run.restore(state)
    where = f" and {run.progress.batches} batches of epoch {run.epoch + 1}" if run.progress.batches else ""
    log.info("resuming %s from %s after epoch %d%s", target, checkpoint, run.epoch, where)


def epoch_batches(nb_samples: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The shuffled batches of `epoch` (as shuffle=True, but reproducible per epoch)."""
    order = torch.randperm(nb_samples, generator=torch.Generator().manual_seed(seed * 100003 + epoch)).tolist()
    return [order[i : i + batch_size] for i in range(0, nb_samples, batch_size)]


class EpochBatches:
    """Batch sampler of one loader for the whole training: the batches set for the current
    epoch, each index as (epoch, index), so persistent workers draw the right epoch."""

    def __init__(self) -> None:
        self.epoch, self.batches = 0, []

    def set(self, epoch: int, batches: list[list[int]]) -> None:
        self.epoch, self.batches = epoch, batches

    def __iter__(self):
        return iter([[(self.epoch, i) for i in batch] for batch in self.batches])

    def __len__(self) -> int:
        return len(self.batches)


def train_loader(data, cfg: Mapping[str, Any], device: torch.device, sampler: EpochBatches) -> torch.utils.data.DataLoader:
    """One DataLoader for every epoch; pinned memory and persistent workers on CUDA only."""
    cuda = device.type == "cuda"
    return torch.utils.data.DataLoader(
        data,
        batch_sampler=sampler,
        num_workers=cfg["nb_workers"],
        pin_memory=cuda,
        persistent_workers=cuda and cfg["nb_workers"] > 0,
        # its own generator: creating the loader must not draw from torch's global RNG
        generator=torch.Generator().manual_seed(cfg["seed"]),
    )


def batch_generator(device: torch.device, seed: int, epoch: int, batch: int) -> torch.Generator:
    """The on-device data path's generator of one batch: a pure function of (seed, epoch, batch)."""
    return torch.Generator(device=device).manual_seed((seed * 100003 + epoch) * 1000003 + batch)


def _batch_loss(model, frontend, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MSE between the estimated and the target magnitude (in the model's front end)."""
    return torch.nn.functional.mse_loss(model(frontend.inputs(x)), frontend.target(y))


def _check_finite(loss: float, what: str, target: str, epoch: int, checkpoint: Path) -> None:
    if not math.isfinite(loss):
        raise TrainingError(
            f"{target}: loss became {loss} ({what}) in epoch {epoch}; the last good state is kept in "
            f"{checkpoint}. Lower train.lr or check the data."
        )


def _interruption(stop: StopRequest, epoch: int, batch: int | None) -> dict[str, Any]:
    """The record of a stop, kept in the checkpoint and the summary's provenance."""
    return {"signal": signal.Signals(stop.signal).name, "epoch": epoch, "batch": batch}


def _to_device(batch, data, cfg, device: torch.device, epoch: int, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mixture, target) on the device; on the device data path mixed and augmented there."""
    if cfg.get("data_path", "loader") == "loader":
        x, y = batch
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    return mix_on_device(
        stack_stems(batch, device),
        data.sources.index(data.target),
        cfg["source_augmentations"],
        cfg["random_track_mix"],
        batch_generator(device, cfg["seed"], epoch, index),
    )


def train_epoch(run: Run, data, epoch: int, cfg, device, frontend, stop: StopRequest, save, loader=None) -> float:
    """One epoch of Adam steps from `run.progress` on; mean batch loss.

    On a stop request the state after the current batch is saved (`save()`) and
    `Interrupted` raised. `loader`: a `train_loader` kept across epochs (else one is made).
    """
    batches = epoch_batches(len(data), cfg["batch_size"], cfg["seed"], epoch)
    progress = run.progress
    if loader is None:
        loader = train_loader(data, cfg, device, EpochBatches())
    loader.batch_sampler.set(epoch, batches[progress.batches :])
    run.model.train()
    started = time.time()
    precision = cfg.get("precision", "fp32")
    for batch in loader:
        x, y = _to_device(batch, data, cfg, device, epoch, progress.batches)
        with autocast(precision, device):
            loss = _batch_loss(run.model, frontend, x, y)
        _check_finite(loss.item(), "train", data.target, epoch, save.checkpoint)
        run.optimizer.zero_grad()
        if run.scaler is None:
            loss.backward()
            run.optimizer.step()
        else:
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
        progress.batches += 1
        progress.loss_sum += loss.item()
        if stop and progress.batches < len(batches):
            progress.seconds += time.time() - started
            run.history.interruptions.append(_interruption(stop, epoch, progress.batches))
            save()
            raise Interrupted(
                f"{data.target}: stopped by signal {stop.signal} after batch {progress.batches}/{len(batches)} of "
                f"epoch {epoch}; state saved in {save.checkpoint}; run the job again to resume"
            )
    progress.seconds += time.time() - started
    return progress.loss_sum / progress.batches


def validate(model, loader, device, frontend, precision: str = "fp32") -> float:
    """Mean MSE over the full validation tracks (batch 1, no augmentation)."""
    model.eval()
    with torch.no_grad(), autocast(precision, device):
        losses = [_batch_loss(model, frontend, x.to(device), y.to(device)).item() for x, y in loader]
    return sum(losses) / len(losses)


def report_flat_loss(history: History, epochs: int) -> None:
    """Warn when the training loss moved less than 0.1 % over the last `epochs` epochs."""
    recent = history.train_loss[-epochs:]
    if epochs and len(recent) == epochs and len(history.train_loss) % epochs == 0:
        spread = max(recent) - min(recent)
        if spread <= 1e-3 * abs(min(recent)):
            log.warning(
                "train loss flat for %d epochs (%.6g .. %.6g): the model may not be learning; "
                "check train.lr and the data",
                epochs,
                min(recent),
                max(recent),
            )


class _Saver:
    """`save()` writes the run's checkpoint; `checkpoint` names it in messages."""

    def __init__(self, run: Run, checkpoint: Path, recipe: str) -> None:
        self.run, self.checkpoint, self.recipe = run, checkpoint, recipe

    def __call__(self) -> None:
        self.run.save(self.checkpoint, self.recipe)


def _finish_epoch(run: Run, epoch: int, train_loss: float, valid_loss: float, cfg, valid_sdr: float | None = None) -> bool:
    """Scheduler, early stopping, histories, best weights; True when training should stop.
    Only the validation loss steers; `valid_sdr` (train.valid_sdr) is only recorded."""
    run.scheduler.step(valid_loss)
    stop = run.stopper.step(valid_loss)
    history = run.history
    history.train_loss.append(train_loss)
    history.valid_loss.append(valid_loss)
    history.train_time.append(run.progress.seconds)
    if cfg.get("valid_sdr", False):
        history.valid_sdr.append(valid_sdr)
    if valid_loss == run.stopper.best:
        history.best_epoch = epoch
        run.best_state = _snapshot(run.model)
    run.epoch = epoch
    run.progress = Progress()
    log.info(
        "epoch %d/%d  train %.5f  valid %.5f  best %.5f (epoch %d)  lr %.2e  %.1f s",
        epoch,
        cfg["epochs"],
        train_loss,
        valid_loss,
        run.stopper.best,
        history.best_epoch,
        run.optimizer.param_groups[0]["lr"],
        history.train_time[-1],
    )
    report_flat_loss(history, cfg["flat_loss_epochs"])
    return stop


def train_target(
    settings: Mapping[str, Any],
    target: str,
    tracks: Mapping[str, Sequence[TrackInfo]],
    stats: tuple[np.ndarray | None, np.ndarray | None],
    checkpoint: Path,
    out_pth: Path,
    out_json: Path,
    provenance: Mapping[str, Any] | None = None,
    extra_stats: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> dict[str, Any]:
    """Train (or resume) the model for `target`; writes the best weights and the summary JSON.

    `stats`: (mean, std) of the base STFT ((None, None) for a model without, umx-mr-7);
    `extra_stats`: those of the further STFTs `umxmr.resolutions.stft_resolutions` lists.
    """
    with device_slot(settings["train"]["device"]) as device:
        try:
            return _train_on(device, settings, target, tracks, stats, checkpoint, out_pth, out_json, provenance, extra_stats)
        except torch.cuda.OutOfMemoryError as error:
            job = f"{target} (writing {out_pth})"
            raise OutOfMemory(out_of_memory_message(job, settings["train"], device, error)) from error


def _train_on(
    device, settings, target, tracks, stats, checkpoint, out_pth, out_json, provenance, extra_stats
) -> dict[str, Any]:
    """`train_target` on the device (or GPU slot) the job holds."""
    cfg = settings["train"]
    recipe = recipe_hash(settings, target)
    configure_backends(cfg, device)
    seed_everything(cfg["seed"])
    rate = tracks["train"][0].rate

    run = new_run(settings, rate, stats, device, extra_stats)
    resume_if_possible(run, checkpoint, recipe, device, target)
    save = _Saver(run, checkpoint, recipe)

    train_data = ExcerptDataset(
        tracks["train"],
        target,
        seq_dur=cfg["seq_dur"],
        samples_per_track=cfg["samples_per_track"],
        augmentations=cfg["source_augmentations"],
        random_track_mix=cfg["random_track_mix"],
        seed=cfg["seed"],
        stems=cfg.get("data_path", "loader") == "device",
    )
    loader = train_loader(train_data, cfg, device, EpochBatches())
    valid_loader = torch.utils.data.DataLoader(
        FullTrackDataset(tracks["valid"], target), batch_size=1, generator=torch.Generator().manual_seed(cfg["seed"])
    )
    frontend = build_frontend(settings, rate, center=False).to(device)
    valid_sdr = ValidSdr(settings, rate, device) if cfg.get("valid_sdr", False) else None
    log.info(
        "training %s on %s: %d train excerpts/epoch, %d valid tracks, %d parameters",
        target,
        device,
        len(train_data),
        len(tracks["valid"]),
        sum(p.numel() for p in run.model.parameters()),
    )

    stopped = run.epoch > 0 and run.stopper.num_bad_epochs >= run.stopper.patience
    with stop_on_signals() as stop:
        for epoch in range(run.epoch + 1, cfg["epochs"] + 1):
            if stopped:
                break
            train_data.epoch = epoch
            train_loss = train_epoch(run, train_data, epoch, cfg, device, frontend, stop, save, loader)
            started = time.time()
            valid_loss = validate(run.model, valid_loader, device, frontend, cfg.get("precision", "fp32"))
            run.progress.seconds += time.time() - started
            _check_finite(valid_loss, "valid", target, epoch, checkpoint)
            sdr = None
            # the run's last epoch: train.epochs, or early stopping (asked of a copy of the monitor)
            last = epoch == cfg["epochs"] or replace(run.stopper).step(valid_loss)
            if valid_sdr is not None and sdr_due(epoch, cfg.get("valid_sdr_every", VALID_SDR_EVERY), last):
                started = time.time()
                sdr, per_track = valid_sdr(run.model, valid_loader.dataset)
                run.progress.seconds += time.time() - started
                log.info(
                    "epoch %d  validation SDR %s dB (median over %d tracks; each: %s)  %.1f s",
                    epoch,
                    "none" if sdr is None else f"{sdr:.3f}",
                    len(per_track),
                    ", ".join(f"{s:.2f}" for s in per_track),
                    time.time() - started,
                )
            stopped = _finish_epoch(run, epoch, train_loss, valid_loss, cfg, sdr)
            interrupted = stop and epoch < cfg["epochs"] and not stopped
            if interrupted:
                run.history.interruptions.append(_interruption(stop, epoch, None))
            save()
            if stopped:
                log.info("early stopping after epoch %d: no improvement for %d epochs", epoch, run.stopper.patience)
            if interrupted:
                raise Interrupted(f"{target}: stopped by signal {stop.signal} after epoch {epoch}; run the job again to resume")

    return _write_outputs(run, settings, target, device, recipe, provenance, out_pth, out_json)


def recipe_hash(settings: Mapping[str, Any], target: str) -> str:
    """The hash a checkpoint must match: the settings and the target. `train.valid_sdr` and what
    goes with it count only when it is on (with the epochs between SDRs as they apply): off, the
    hash is that of the same settings without these keys, so checkpoints written before they
    existed, or with them off, stay valid; on, its history must cover the run, so turning it on
    or changing its schedule or window trains anew."""
    train = {k: v for k, v in settings["train"].items() if not k.startswith("valid_sdr")}
    if settings["train"].get("valid_sdr", False):
        train.update(valid_sdr=True, valid_sdr_every=settings["train"].get("valid_sdr_every", VALID_SDR_EVERY))
        if "valid_sdr_window" in settings["train"]:
            train["valid_sdr_window"] = settings["train"]["valid_sdr_window"]
    return settings_hash({**settings, "train": train, "target": target})


def _valid_sdr_record(history: History, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The summary's `valid_sdr_history` (dB per epoch, null where not computed) with train.valid_sdr; else nothing."""
    if not cfg.get("valid_sdr", False):
        return {}
    return {"valid_sdr_history": history.valid_sdr}


def _write_outputs(run: Run, settings, target, device, recipe, provenance, out_pth: Path, out_json: Path) -> dict[str, Any]:
    """The best weights and open-unmix's `<target>.json` summary, plus provenance."""
    history = run.history
    summary = {
        "epochs_trained": len(history.train_loss),
        "args": {**settings, "target": target},
        "best_loss": run.stopper.best,
        "best_epoch": history.best_epoch,
        "train_loss_history": history.train_loss,
        "valid_loss_history": history.valid_loss,
        "train_time_history": history.train_time,
        "num_bad_epochs": run.stopper.num_bad_epochs,
        **_valid_sdr_record(history, settings["train"]),
        "commit": (provenance or {}).get("commit"),
        "provenance": {
            **(provenance or {}),
            "device": str(device),
            "recipe": recipe,
            "seed": settings["train"]["seed"],
            "interruptions": history.interruptions,
        },
    }
    with atomic_path(out_pth) as tmp:
        torch.save(run.best_state, tmp)
    write_text(out_json, json.dumps(summary, indent=2, sort_keys=True))
    return summary
