"""Train one target model, as open-unmix's scripts/train.py does, but resumable exactly.

Same recipe: Adam (lr, weight decay), ReduceLROnPlateau on the validation loss (factor
gamma, patience, cooldown 10), early stopping (mode min, patience), MSE between estimated
and target magnitudes of `center=False` STFTs, full-track validation at batch 1.

Different on purpose (open-unmix's resume is partial): after every epoch one checkpoint
holds model, optimizer, scheduler, early-stopping state, the best weights, the histories and
every RNG state, written atomically outside Snakemake's outputs. A killed job restarted by
Snakemake continues from its last epoch and ends exactly where an uninterrupted run ends.
`epochs` and `patience` count across resumes.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from umxmr.atomic import atomic_path, write_text
from umxmr.data.dataset import ExcerptDataset, FullTrackDataset
from umxmr.data.layout import TrackInfo
from umxmr.device import pick_device
from umxmr.models import build_frontend, build_model
from umxmr.settings import settings_hash

log = logging.getLogger("umxmr.train")


class TrainingError(RuntimeError):
    """Training cannot go on (for example a NaN loss); the last good checkpoint is kept."""


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


def _loss_epoch(model, frontend, loader, device, optimizer=None) -> float:
    """Mean MSE over the batches of `loader`; trains when an optimizer is given."""
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        with torch.set_grad_enabled(optimizer is not None):
            estimate = model(frontend.inputs(x))
            loss = torch.nn.functional.mse_loss(estimate, frontend.target(y))
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        total += loss.item()
        count += 1
    return total / count


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
    cfg = settings["train"]
    recipe = settings_hash({**settings, "target": target})
    seed_everything(cfg["seed"])
    device = pick_device(cfg["device"])
    rate = tracks["train"][0].rate
    model = build_model(settings, rate, *stats, extra_stats=extra_stats).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        factor=cfg["lr_decay_gamma"],
        patience=cfg["lr_decay_patience"],
        cooldown=cfg["lr_decay_cooldown"],
    )
    stopper = EarlyStopping(patience=cfg["patience"])
    history = History()
    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    first_epoch = 1

    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state["recipe"] != recipe:
            log.warning("ignoring %s: it was written for other settings (recipe %s, now %s)", checkpoint, state["recipe"], recipe)
        else:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            stopper = EarlyStopping(**state["early_stopping"])
            history = History(**state["history"])
            best_state = state["best_model"]
            set_rng_states(state["rng"])
            first_epoch = state["epoch"] + 1
            log.info("resuming %s from %s after epoch %d", target, checkpoint, state["epoch"])

    train_data = ExcerptDataset(
        tracks["train"],
        target,
        seq_dur=cfg["seq_dur"],
        samples_per_track=cfg["samples_per_track"],
        augmentations=cfg["source_augmentations"],
        random_track_mix=cfg["random_track_mix"],
        seed=cfg["seed"],
    )
    valid_loader = torch.utils.data.DataLoader(FullTrackDataset(tracks["valid"], target), batch_size=1)
    frontend = build_frontend(settings, rate, center=False).to(device)
    log.info(
        "training %s on %s: %d train excerpts/epoch, %d valid tracks, %d parameters",
        target,
        device,
        len(train_data),
        len(tracks["valid"]),
        sum(p.numel() for p in model.parameters()),
    )

    stop = stopper.num_bad_epochs >= stopper.patience and first_epoch > 1
    for epoch in range(first_epoch, cfg["epochs"] + 1):
        if stop:
            break
        started = time.time()
        train_data.epoch = epoch
        loader = torch.utils.data.DataLoader(
            train_data,
            batch_size=cfg["batch_size"],
            shuffle=True,
            num_workers=cfg["nb_workers"],
            generator=torch.Generator().manual_seed(cfg["seed"] * 100003 + epoch),
            pin_memory=device.type == "cuda",
        )
        model.train()
        train_loss = _loss_epoch(model, frontend, loader, device, optimizer)
        model.eval()
        valid_loss = _loss_epoch(model, frontend, valid_loader, device)
        if not (math.isfinite(train_loss) and math.isfinite(valid_loss)):
            raise TrainingError(
                f"{target}: loss became {train_loss} (train) / {valid_loss} (valid) in epoch {epoch}; "
                f"the last good state is kept in {checkpoint}. Lower train.lr or check the data."
            )
        scheduler.step(valid_loss)
        stop = stopper.step(valid_loss)
        history.train_loss.append(train_loss)
        history.valid_loss.append(valid_loss)
        history.train_time.append(time.time() - started)
        if valid_loss == stopper.best:
            history.best_epoch = epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        log.info(
            "epoch %d/%d  train %.5f  valid %.5f  best %.5f (epoch %d)  lr %.2e  %.1f s",
            epoch,
            cfg["epochs"],
            train_loss,
            valid_loss,
            stopper.best,
            history.best_epoch,
            optimizer.param_groups[0]["lr"],
            history.train_time[-1],
        )
        state = {
            "recipe": recipe,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "early_stopping": vars(stopper).copy(),
            "history": vars(history).copy(),
            "best_model": best_state,
            "rng": rng_states(),
        }
        with atomic_path(checkpoint) as tmp:
            torch.save(state, tmp)
        if stop:
            log.info("early stopping after epoch %d: no improvement for %d epochs", epoch, stopper.patience)

    summary = {
        "epochs_trained": len(history.train_loss),
        "args": {**settings, "target": target},
        "best_loss": stopper.best,
        "best_epoch": history.best_epoch,
        "train_loss_history": history.train_loss,
        "valid_loss_history": history.valid_loss,
        "train_time_history": history.train_time,
        "num_bad_epochs": stopper.num_bad_epochs,
        "commit": (provenance or {}).get("commit"),
        "provenance": {**(provenance or {}), "device": str(device), "recipe": recipe},
    }
    with atomic_path(out_pth) as tmp:
        torch.save(best_state, tmp)
    write_text(out_json, json.dumps(summary, indent=2, sort_keys=True))
    return summary
