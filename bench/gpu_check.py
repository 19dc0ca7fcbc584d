"""The phases of `bench/gpu_check.sh`: one prepared check of training and separation on a GPU.

Each phase runs in its own process (`--phase NAME`) under a time cap set by the shell script,
and appends every figure to `<out>/results.jsonl` as soon as it is measured (printed at once
too), so a phase cut short still leaves what it measured. `--summary` prints them all and
writes `<out>/summary.md`; `--check-packages` names any package the check needs and lacks.

Phases (sizes: `--quick` is the CI-size form, a few steps of a tiny model on short tracks):
- env: Python, torch, CUDA, the GPUs.
- data: a generated dataset (umxmr.data.demo) of WAV tracks, shared by the later phases.
- train: umx-mr-0 at the published size (hidden 512, 3 BLSTM layers, n_fft 4096, 6 s
  excerpts, batch 16) for 200 steps, fp32 then bf16, through the training code itself
  (`umxmr.training.train.train_epoch`, cudnn.benchmark on); `openunmix.model.OpenUnmix` on
  the same loader and steps (open-unmix's own STFT and magnitude): samples/s and peak GPU
  memory; then 50 fp32 steps with train.deterministic true (what determinism costs).
- data_path: samples/s of loading only (to the device), the CPU loader against the
  on-device path (`train.data_path: device`), and open-unmix's own MUSDBDataset on the same
  WAVs when musdb imports (it needs ffmpeg); on CUDA also training steps on each path.
- resume: a training stopped by SIGUSR1 (sent by the process to itself at a chosen batch) and
  resumed, against the same training uninterrupted: equal weights or not.
- seeds: two runs of one seed with train.deterministic true, then false (cudnn.benchmark),
  then bf16 with the on-device path: equal weights or not, largest difference.
- separate: four published-size models (random weights) on a 4-minute generated track,
  first the models alone, then the whole `separate()` (norbert EM 1 iteration, on the CPU):
  time and peak GPU memory. Not scored: the weights are random and museval needs ffmpeg.

    PYTHONPATH=. python bench/gpu_check.py --phase train --out bench/gpu_check_out [--device cuda] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import sys
import time
import types
from pathlib import Path

REQUIRED = ["numpy", "torch", "soundfile", "yaml", "tqdm", "norbert"]
OPTIONAL = {
    "openunmix": "the train phase's openunmix.model.OpenUnmix comparison is skipped",
    "musdb": "open-unmix's own loader (MUSDBDataset) is skipped in the data_path phase (musdb needs ffmpeg)",
}
TARGETS = ("vocals", "drums", "bass", "other")


def check_packages() -> int:
    """Import every package the check needs; name the missing ones. Exit status 2 if any required one is."""
    missing = []
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - an import can fail in many ways on a foreign box
            missing.append(f"{name} ({type(error).__name__}: {error})")
    if missing:
        print("gpu_check: missing required packages: " + "; ".join(missing), file=sys.stderr)
        print("install them into this Python (not torch: use the box's own), then run again", file=sys.stderr)
        return 2
    import torch

    if int(torch.__version__.split(".")[0]) < 2:
        print(f"gpu_check: torch {torch.__version__} is too old; torch 2.x is needed", file=sys.stderr)
        return 2
    for name, consequence in OPTIONAL.items():
        try:
            _import_optional(name)
        except Exception as error:  # noqa: BLE001
            print(f"gpu_check: optional package {name} not usable ({type(error).__name__}: {error}): {consequence}")
    return 0


def _import_optional(name: str):
    if name == "openunmix" and "torchaudio" not in sys.modules:
        # openunmix 1.3.0 imports torchaudio at module level but its model never calls it
        try:
            import torchaudio  # noqa: F401
        except Exception:  # noqa: BLE001
            sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    return importlib.import_module("openunmix.model" if name == "openunmix" else name)


class Recorder:
    """Prints each figure and appends it to results.jsonl at once (partial results survive a cut)."""

    def __init__(self, out: Path, phase: str) -> None:
        self.path, self.phase = out / "results.jsonl", phase

    def __call__(self, key: str, value, unit: str = "", note: str = "") -> None:
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"[{self.phase}] {key}: {shown} {unit}{'  (' + note + ')' if note else ''}", flush=True)
        with open(self.path, "a") as f:
            f.write(json.dumps({"phase": self.phase, "key": key, "value": value, "unit": unit, "note": note}) + "\n")
            f.flush()
            os.fsync(f.fileno())


def sizes(quick: bool) -> dict:
    """Model, STFT, excerpt and step counts: published (200 steps) or CI-size."""
    if quick:
        return {"stft": {"n_fft": 1024, "hop": 256}, "model": {"hidden_size": 16, "nb_layers": 1},
                "batch": 2, "seq_dur": 0.5, "steps": 3, "tracks": 2, "duration": 2.0, "song": 4.0, "check_steps": 2}
    return {"stft": {"n_fft": 4096, "hop": 1024}, "model": {"hidden_size": 512, "nb_layers": 3},
            "batch": 16, "seq_dur": 6.0, "steps": 200, "tracks": 6, "duration": 20.0, "song": 240.0, "check_steps": 4}


def workers(device) -> int:
    return min(8, max(1, (os.cpu_count() or 2) // 2)) if device.type == "cuda" else 0


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device):
    import torch

    return round(torch.cuda.max_memory_allocated(device) / 2**30, 3) if device.type == "cuda" else "n/a (CPU)"


def dataset(out: Path, size: dict):
    """The generated tracks ({train, valid}), written once by the data phase."""
    from umxmr.data.layout import scan_trackfolder

    root = out / "work" / "data"
    stems = {name: f"{name}.wav" for name in ("mixture", *TARGETS)}
    valid = sorted(p.name for p in (root / "train").iterdir() if "valid" in p.name)
    return scan_trackfolder(root, stems, valid)


def train_settings(size: dict, **train):
    from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge

    over = {"stft": size["stft"], "model": size["model"],
            "train": {"batch_size": size["batch"], "seq_dur": size["seq_dur"], "seed": 42, "device": "cpu", **train}}
    return deep_merge(PUBLISHED_DEFAULTS, over)


# ---------------------------------------------------------------------------------------- phases


def phase_env(rec, args, device, size) -> None:
    import platform

    import torch

    rec("python", platform.python_version())
    rec("torch", torch.__version__)
    rec("cpu cores", os.cpu_count() or 0)
    rec("device", str(device))
    if device.type == "cuda":
        rec("cuda", torch.version.cuda or "?")
        rec("cudnn", torch.backends.cudnn.version() or 0)
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            rec(f"gpu {i}", f"{props.name}, {props.total_memory / 2**30:.1f} GiB")
        rec("bf16 supported", torch.cuda.is_bf16_supported())
    rec("sizes", "CI-size (--quick)" if args.quick else "published (hidden 512, 3 layers, n_fft 4096, 6 s, batch 16)")


def phase_data(rec, args, device, size) -> None:
    import shutil

    from umxmr.data.demo import generate_demo

    root = args.out / "work" / "data"
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    generate_demo(root, n_train=size["tracks"], n_valid=1, n_test=1, duration=size["duration"], seed=20)
    rec("generated tracks", f"{size['tracks']} train + 1 valid of {size['duration']} s", note=f"{time.perf_counter() - started:.1f} s")


class StepClock:
    """Start time of every step (after a device sync); the rate leaves out the warm-up steps
    (CUDA context, cudnn.benchmark's kernel search, the loader workers' start)."""

    def __init__(self, device, warmup: int) -> None:
        self.device, self.warmup, self.starts = device, warmup, []

    def tick(self) -> None:
        sync(self.device)
        self.starts.append(time.perf_counter())

    def rate(self, batch_size: int) -> float:
        sync(self.device)
        end = time.perf_counter()
        warmup = min(self.warmup, len(self.starts) - 1)
        return (len(self.starts) - warmup) * batch_size / (end - self.starts[warmup])


def _warmup(steps: int) -> int:
    return min(10, steps // 4)


def _ours(settings, device, tracks, steps: int):
    """Samples/s (after the warm-up steps) and mean loss of `steps` steps of the training
    code itself (one epoch of `umxmr.training.train.train_epoch`), and the peak GPU memory."""
    import umxmr.training.train as train
    from umxmr.data.dataset import ExcerptDataset
    from umxmr.models.registry import build_frontend
    from umxmr.training.interrupt import StopRequest

    cfg = settings["train"]
    train.configure_backends(cfg, device)
    train.seed_everything(cfg["seed"])
    run = train.new_run(settings, 44100.0, (None, None), device)
    data = ExcerptDataset(tracks["train"], "vocals", cfg["seq_dur"], cfg["samples_per_track"], cfg["source_augmentations"],
                          cfg["random_track_mix"], cfg["seed"], stems=cfg["data_path"] == "device")
    data.epoch = 1
    frontend = build_frontend(settings, 44100.0, center=False).to(device)
    loader = train.train_loader(data, cfg, device, train.EpochBatches())
    save = train._Saver(run, Path(os.devnull), "bench")
    reset_peak(device)
    clock, real = StepClock(device, _warmup(steps)), train._batch_loss

    def timed(*a, **k):
        clock.tick()
        return real(*a, **k)

    train._batch_loss = timed
    try:
        loss = train.train_epoch(run, data, 1, cfg, device, frontend, StopRequest(), save, loader)
    finally:
        train._batch_loss = real
    return clock.rate(cfg["batch_size"]), loss, peak_gib(device)


def _theirs(settings, device, tracks, steps: int, precision: str):
    """openunmix.model.OpenUnmix with open-unmix's STFT, on our loader's batches."""
    import torch

    import umxmr.training.train as train
    from umxmr.data.dataset import ExcerptDataset
    from umxmr.models.transforms import bandwidth_to_max_bin

    _import_optional("openunmix")
    from openunmix.model import OpenUnmix
    from openunmix.transforms import ComplexNorm, TorchSTFT

    cfg, stft, model_cfg = settings["train"], settings["stft"], settings["model"]
    torch.manual_seed(cfg["seed"])
    nb_bins = stft["n_fft"] // 2 + 1
    model = OpenUnmix(nb_bins=nb_bins, nb_channels=2, hidden_size=model_cfg["hidden_size"], nb_layers=model_cfg["nb_layers"],
                      max_bin=int(bandwidth_to_max_bin(44100, stft["n_fft"], model_cfg["bandwidth"]))).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    transform = TorchSTFT(n_fft=stft["n_fft"], n_hop=stft["hop"], center=False).to(device)
    norm = ComplexNorm()
    data = ExcerptDataset(tracks["train"], "vocals", cfg["seq_dur"], cfg["samples_per_track"], cfg["source_augmentations"],
                          cfg["random_track_mix"], cfg["seed"])
    sampler = train.EpochBatches()
    sampler.set(1, train.epoch_batches(len(data), cfg["batch_size"], cfg["seed"], 1))
    loader = train.train_loader(data, cfg, device, sampler)
    reset_peak(device)
    clock = StepClock(device, _warmup(steps))
    total = 0.0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        clock.tick()
        with train.autocast(precision, device):
            loss = torch.nn.functional.mse_loss(model(norm(transform(x))), norm(transform(y)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return clock.rate(cfg["batch_size"]), total / steps, peak_gib(device)


def phase_train(rec, args, device, size) -> None:
    tracks = dataset(args.out, size)
    steps = size["steps"]
    spt = steps * size["batch"] // len(tracks["train"])
    rec("steps per run", steps, note=f"batch {size['batch']}, {size['seq_dur']} s excerpts, {workers(device)} loader "
        f"workers; samples/s after {_warmup(steps)} warm-up steps, loading included")
    for precision in ("fp32", "bf16"):
        settings = train_settings(size, samples_per_track=spt, nb_workers=workers(device), precision=precision,
                                  deterministic=False)
        rate, loss, peak = _ours(settings, device, tracks, steps)
        rec(f"umx-mr-0 {precision} samples/s", round(rate, 2), "samples/s", f"mean loss {loss:.4g}, cudnn.benchmark on CUDA")
        rec(f"umx-mr-0 {precision} peak memory", peak, "GiB")
        try:
            rate_theirs, loss_theirs, peak_theirs = _theirs(settings, device, tracks, steps, precision)
        except ImportError as error:
            rec(f"openunmix {precision}", "skipped", note=f"openunmix not importable: {error}")
            continue
        rec(f"openunmix {precision} samples/s", round(rate_theirs, 2), "samples/s", f"mean loss {loss_theirs:.4g}")
        rec(f"openunmix {precision} peak memory", peak_theirs, "GiB")
        rec(f"ratio umx-mr-0 / openunmix {precision}", round(rate / rate_theirs, 3), "×", "samples/s, same loader")
    # what determinism costs: the fp32 steps again with deterministic kernels and no cudnn.benchmark
    short = max(2, steps // 4)
    settings = train_settings(size, samples_per_track=short * size["batch"] // len(tracks["train"]),
                              nb_workers=workers(device), deterministic=True)
    rate, loss, peak = _ours(settings, device, tracks, short)
    rec("umx-mr-0 fp32 deterministic samples/s", round(rate, 2), "samples/s",
        f"{short} steps, train.deterministic true (compare umx-mr-0 fp32 above)")


def _load_rate(loader, device, batches: int, mix=None) -> float:
    """Samples/s of `batches` batches to the device, after one warm-up batch."""
    from umxmr.data.dataset import stack_stems

    count = 0
    for number, batch in enumerate(loader):
        if number == 1:
            sync(device)
            count, started = 0, time.perf_counter()
        if number == batches + 1:
            break
        if mix is None:
            x, y = (t.to(device, non_blocking=True) for t in batch)
        else:
            x, y = mix(stack_stems(batch, device), number)
        count += len(x)
    sync(device)
    return count / (time.perf_counter() - started)


def phase_data_path(rec, args, device, size) -> None:
    import torch

    import umxmr.training.train as train
    from umxmr.data.dataset import ExcerptDataset, mix_on_device

    tracks = dataset(args.out, size)
    batches = args.batches or max(2, size["steps"] // 4)
    nb_workers = args.workers if args.workers is not None else workers(device)
    settings = train_settings(size, samples_per_track=(batches + 1) * size["batch"] // len(tracks["train"]) + 1,
                              nb_workers=nb_workers)
    cfg = settings["train"]
    augment = (cfg["source_augmentations"], cfg["random_track_mix"])
    rec("loading", f"{batches} batches of {cfg['batch_size']} × {cfg['seq_dur']} s", note=f"{nb_workers} workers")
    rates = {}
    for path in ("loader", "device"):
        data = ExcerptDataset(tracks["train"], "vocals", cfg["seq_dur"], cfg["samples_per_track"], *augment, seed=1,
                              stems=path == "device")
        sampler = train.EpochBatches()
        sampler.set(1, train.epoch_batches(len(data), cfg["batch_size"], 1, 1))
        loader = train.train_loader(data, {**cfg, "seed": 1}, device, sampler)

        def mix(stems, number):
            return mix_on_device(stems, 0, *augment, train.batch_generator(device, 1, 1, number))

        rates[path] = _load_rate(loader, device, batches, mix if path == "device" else None)
        rec(f"ours, {path} path, loading only", round(rates[path], 2), "samples/s", f"mixed on {device if path == 'device' else 'cpu'}")
    rec("ratio device / loader path, loading", round(rates["device"] / rates["loader"], 3), "×")
    try:
        _import_optional("openunmix")
        _import_optional("musdb")
        from openunmix.data import MUSDBDataset, aug_from_str

        theirs = MUSDBDataset(root=str(args.out / "work" / "data"), is_wav=True, subsets="train", split="train",
                              target="vocals", seq_duration=cfg["seq_dur"], samples_per_track=cfg["samples_per_track"],
                              source_augmentations=aug_from_str(["gain", "channelswap"]), random_track_mix=True)
        loader = torch.utils.data.DataLoader(theirs, batch_size=cfg["batch_size"], shuffle=True, num_workers=nb_workers,
                                             pin_memory=device.type == "cuda")
        # musdb reads every excerpt through an ffmpeg subprocess: few batches
        few = 1 if args.quick else min(batches, args.their_batches)
        rates["openunmix"] = _load_rate(loader, device, few)
        rec("open-unmix MUSDBDataset, loading only", round(rates["openunmix"], 2), "samples/s",
            f"musdb is_wav (stempeg/ffmpeg per excerpt), same WAVs, {few} batches")
        for path in ("loader", "device"):
            rec(f"ratio ours ({path} path) / open-unmix's loader", round(rates[path] / rates["openunmix"], 3), "×")
    except Exception as error:  # noqa: BLE001 - musdb without ffmpeg fails in several ways
        rec("open-unmix MUSDBDataset", "skipped", note=f"{type(error).__name__}: {error}")
    if device.type == "cuda" or args.quick:
        steps = min(size["steps"], 50)
        for path in ("loader", "device"):
            s = train_settings(size, samples_per_track=steps * size["batch"] // len(tracks["train"]), nb_workers=nb_workers,
                               data_path=path, deterministic=False)
            rate, loss, peak = _ours(s, device, tracks, steps)
            rec(f"training steps, {path} path", round(rate, 2), "samples/s", f"{steps} steps fp32, peak {peak} GiB")


def _train(settings, tracks, workdir: Path, signal_at: int | None = None):
    """train_target into `workdir`; with `signal_at`, SIGUSR1 to this process at that training call."""
    import umxmr.training.train as train

    real, calls = train._batch_loss, []

    def signalling(*a, **k):
        calls.append(1)
        if len(calls) == signal_at:
            os.kill(os.getpid(), signal.SIGUSR1)
        return real(*a, **k)

    train._batch_loss = signalling if signal_at else real
    try:
        return train.train_target(settings, "vocals", tracks, (None, None), workdir / "resume.chkpnt",
                                  workdir / "vocals.pth", workdir / "vocals.json")
    finally:
        train._batch_loss = real


def _compare(a: Path, b: Path) -> tuple[bool, float]:
    import torch

    x, y = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    diff = max((x[k].double() - y[k].double()).abs().max().item() for k in x)
    return all(torch.equal(x[k], y[k]) for k in x), diff


def _short_training(size, device, **over):
    steps = size["check_steps"]
    return train_settings(size, epochs=2, samples_per_track=max(1, steps * size["batch"] // size["tracks"]),
                          nb_workers=workers(device), device=str(device), **over)


def phase_resume(rec, args, device, size) -> None:
    from umxmr.training.interrupt import Interrupted

    tracks = dataset(args.out, size)
    work = args.out / "work" / "resume"
    settings = _short_training(size, device)
    started = time.perf_counter()
    _train(settings, tracks, work / "uninterrupted")
    rec("uninterrupted", "done", note=f"2 epochs of {size['check_steps']} steps, deterministic, {time.perf_counter() - started:.1f} s")
    at = size["check_steps"] + 1 + 1  # epoch 1's steps, its validation track, then batch 1 of epoch 2
    try:
        _train(settings, tracks, work / "stopped", signal_at=at)
        rec("SIGUSR1", "NOT honoured: the training ran to its end")
    except Interrupted as stopped:
        rec("SIGUSR1", "checkpoint written, job stopped", note=str(stopped)[:120])
    _train(settings, tracks, work / "stopped")
    equal, diff = _compare(work / "stopped/vocals.pth", work / "uninterrupted/vocals.pth")
    rec("resumed equals uninterrupted", equal, note=f"largest weight difference {diff:.3g}, train.deterministic true")


def phase_seeds(rec, args, device, size) -> None:
    tracks = dataset(args.out, size)
    work = args.out / "work" / "seeds"
    for label, over in [("deterministic", {}), ("cudnn.benchmark (deterministic false)", {"deterministic": False}),
                        ("bf16 + device data path, deterministic", {"precision": "bf16", "data_path": "device"})]:
        folder = work / label.split()[0].replace(".", "_")
        settings = _short_training(size, device, **over)
        for run in ("a", "b"):
            _train(settings, tracks, folder / run)
        equal, diff = _compare(folder / "a/vocals.pth", folder / "b/vocals.pth")
        rec(f"two runs of seed 42, {label}: equal weights", equal, note=f"largest difference {diff:.3g}")


def phase_separate(rec, args, device, size) -> None:
    import numpy as np
    import torch

    from umxmr.models.registry import build_model
    from umxmr.separation.separate import separate

    settings = train_settings(size)
    torch.manual_seed(0)
    models = {t: build_model(settings, 44100.0).to(device).eval() for t in TARGETS}
    seconds = size["song"]
    mixture = np.random.default_rng(0).uniform(-0.3, 0.3, (int(seconds * 44100), 2)).astype(np.float32)
    # the models alone first (their part of separate()), so a cut in the Wiener step still leaves it
    from umxmr.models.frontends import StftFrontend

    frontend = StftFrontend(settings["stft"]["n_fft"], settings["stft"]["hop"], center=True).to(device)
    audio = torch.from_numpy(np.ascontiguousarray(mixture.T))[None].to(device)
    reset_peak(device)
    sync(device)
    started = time.perf_counter()
    with torch.no_grad():
        for model in models.values():
            model(frontend.inputs(audio))
    sync(device)
    rec(f"4 models on a {seconds:.0f} s track", round(time.perf_counter() - started, 2), "s", f"peak {peak_gib(device)} GiB")
    del audio
    reset_peak(device)
    started = time.perf_counter()
    estimates = separate(mixture, models, settings["stft"]["n_fft"], settings["stft"]["hop"], niter=1, device=device)
    took = time.perf_counter() - started
    assert all(e.shape == mixture.shape for e in estimates.values())
    rec(f"separate a {seconds:.0f} s track, 4 targets", round(took, 2), "s", "models on the device, norbert EM 1 iteration on the CPU")
    rec("separation peak memory", peak_gib(device), "GiB")
    rec("separation score", "not computed", note="random weights; museval needs ffmpeg")


PHASES = {"env": phase_env, "data": phase_data, "train": phase_train, "data_path": phase_data_path,
          "resume": phase_resume, "seeds": phase_seeds, "separate": phase_separate}


def summary(out: Path) -> None:
    """Every figure in results.jsonl, printed and written to summary.md."""
    path = out / "results.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    lines = ["# gpu_check results", "", "| phase | figure | value | unit | note |", "|---|---|---|---|---|"]
    lines += [f"| {r['phase']} | {r['key']} | {r['value']} | {r['unit']} | {r['note']} |" for r in rows]
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    print("\n" + text, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/gpu_check_out"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="CI-size: tiny model, a few steps per phase")
    parser.add_argument("--workers", type=int, default=None, help="loader workers of the data_path phase")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--batches", type=int, default=None, help="batches of the data_path phase (default steps / 4)")
    parser.add_argument("--their-batches", type=int, default=4, help="batches of open-unmix's loader (data_path)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--phase", choices=list(PHASES))
    group.add_argument("--summary", action="store_true")
    group.add_argument("--check-packages", action="store_true")
    args = parser.parse_args()
    if args.check_packages:
        return check_packages()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.summary:
        summary(args.out)
        return 0
    import torch

    if args.threads or args.quick:
        torch.set_num_threads(args.threads or 1)  # the CI-size form: one thread, small CI machines
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: --device cuda but torch sees no CUDA device; run with --device cpu for the CPU form", file=sys.stderr)
        return 2
    rec = Recorder(args.out, args.phase)
    PHASES[args.phase](rec, args, device, sizes(args.quick))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
