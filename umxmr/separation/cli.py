"""`umxmr-separate`: separate your own songs with any trained or published variant.

    umxmr-separate --model results/umx-mr-3 song.wav other.flac out/
    umxmr-separate --model umxhq song.wav out/            # published weights (torch hub cache)

`--model` is a variant's results folder (`<target>.json/.pth`, and `separator.json` when the
workflow evaluated it; otherwise the config's published separation settings apply: niter 1,
no soft mask, no residual, Wiener windows of 300 frames), or a published model name (umxhq,
umx, umxl; `--weights` for a folder of its files when offline). Any length; any sample rate
(resampled to 44.1 kHz with soxr and back); mono or stereo (mono is separated as two equal
channels and written back as mono). Writes `out/<song>/<target>.wav` (32-bit float) at the
input's rate and channel count.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from umxmr.data.audio import RATE, write_audio
from umxmr.device import pick_device
from umxmr.models.pretrained import PUBLISHED_MODELS, write_published
from umxmr.separation.separate import separate_with_model_files, separator_config

__all__ = ["main", "separate_files", "read_song"]

DEFAULT_SEPARATION = {"niter": 1, "softmask": False, "residual": False, "wiener_win_len": 300, "device": "auto"}
TARGETS = ["vocals", "drums", "bass", "other"]


class SeparateError(ValueError):
    """Bad arguments or input files, said in plain words."""


def read_song(path: Path) -> tuple[np.ndarray, int, int]:
    """`(audio (nb_timesteps, 2) float32 at 44.1 kHz, the file's rate, its channel count)`."""
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise SeparateError(f"{path}: cannot be read as audio ({err}); give a WAV, FLAC or OGG file") from err
    channels = audio.shape[1]
    if channels not in (1, 2):
        raise SeparateError(f"{path}: {channels} channels; the models separate mono or stereo, downmix it first")
    if audio.shape[0] == 0:
        raise SeparateError(f"{path}: holds no samples")
    if channels == 1:
        audio = np.repeat(audio, 2, axis=1)
    if rate != RATE:
        audio = soxr.resample(audio, rate, RATE, quality="VHQ").astype(np.float32)
    return np.ascontiguousarray(audio), rate, channels


def _model_files(model: str, weights: Path | None, workdir: Path) -> tuple[dict, list[Path], list[Path]]:
    """separator.json contents and the model files of a results folder or a published model."""
    folder = Path(model)
    if model in PUBLISHED_MODELS and not folder.exists():
        for target in TARGETS:
            write_published(model, target, weights, workdir / f"{target}.pth", workdir / f"{target}.json")
        folder = workdir
    if not folder.is_dir():
        raise SeparateError(
            f"--model {model}: neither a results folder (results/<variant>) nor a published model ({', '.join(PUBLISHED_MODELS)})"
        )
    if (folder / "separator.json").is_file():
        conf = json.loads((folder / "separator.json").read_text())
    else:
        targets = [t for t in TARGETS if (folder / f"{t}.json").is_file()]
        if not targets:
            raise SeparateError(f"--model {folder}: no <target>.json there; train the variant first (snakemake results/<variant>/vocals.json)")
        settings = [json.loads((folder / f"{t}.json").read_text())["args"] for t in targets]
        conf = separator_config(settings[0], DEFAULT_SEPARATION, targets, RATE, settings)
    summaries = [folder / f"{t}.json" for t in conf["targets"]]
    pths = [folder / f"{t}.pth" for t in conf["targets"]]
    missing = [str(p) for p in summaries + pths if not p.is_file()]
    if missing:
        raise SeparateError(f"--model {folder}: missing {', '.join(missing)}")
    return conf, summaries, pths


def separate_files(model: str, songs: Sequence[Path], out: Path, weights: Path | None = None, device: str = "auto") -> list[Path]:
    """Separate every song; returns the folders written (`out/<song stem>/<target>.wav`)."""
    for song in songs:
        if not Path(song).is_file():
            raise SeparateError(f"{song}: no such file")
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        conf, summaries, pths = _model_files(model, weights, Path(tmp))
        conf = {**conf, "device": device if device != "auto" else conf.get("device", "auto")}
        torch_device = pick_device(conf["device"])
        for song in songs:
            mixture, rate, channels = read_song(Path(song))
            estimates, _ = separate_with_model_files(mixture, conf, summaries, pths, torch_device)
            folder = Path(out) / Path(song).stem
            for target in conf["targets"]:
                audio = estimates[target]
                if rate != RATE:
                    audio = soxr.resample(audio, RATE, rate, quality="VHQ")
                if channels == 1:
                    audio = audio.mean(axis=1, keepdims=True)
                write_audio(folder / f"{target}.wav", audio.astype(np.float32), rate)
            written.append(folder)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="umxmr-separate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="results/<variant> folder, or umxhq | umx | umxl")
    parser.add_argument("--weights", type=Path, help="with a published model: a folder holding its weight files (offline)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--threads", type=int, help="torch intra-op threads on the CPU (default: torch's choice)")
    parser.add_argument("songs", nargs="+", type=Path, help="audio files (any length, rate; mono or stereo)")
    parser.add_argument("out", type=Path, help="output folder; each song goes to out/<song>/<target>.wav")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        for folder in separate_files(args.model, args.songs, args.out, args.weights, args.device):
            print(folder)
    except (SeparateError, ValueError) as err:
        print(f"umxmr-separate: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
