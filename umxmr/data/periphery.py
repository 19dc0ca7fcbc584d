"""Convert the Periphery stems (song folders of free-form stem WAVs) to MUSDB layout.

As sevagh's periphery2musdb: the lower-cased stem path is matched by substring ("drum" ->
drums, "vocal" -> vocals, "bass" -> bass), everything else is summed into other, the
mixture is the sum of the four, and the folder name is the song name with spaces and '-'
replaced by '_'. Done better: the mapping is a config value; stems matching no key
(summed into other) and stems matching keys of several targets (given to the first key's
target) are listed; other sample rates are resampled with soxr or refused; unequal lengths
are zero-padded or refused; clipping is detected. Everything lands in `conversion.json`.

Outputs are 32-bit float WAVs: the sum of many full-scale stems can exceed 1.0, and float
keeps the mixture the exact sum of the stems instead of clipping it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from umxmr.atomic import atomic_dir
from umxmr.data.audio import RATE, AudioError, audio_info, read_audio
from umxmr.data.layout import DatasetError

log = logging.getLogger("umxmr.periphery")

TARGETS = ("drums", "bass", "other", "vocals")
DEFAULT_MAPPING = {"drum": "drums", "vocal": "vocals", "bass": "bass"}
FULL_SCALE = 1.0


def musdb_folder_name(song: str) -> str:
    """The song name with spaces and '-' replaced by '_' (the public script's rule)."""
    return song.replace(" ", "_").replace("-", "_")


def classify(relative: str, mapping: Mapping[str, str]) -> tuple[str, list[str]]:
    """Target of a stem path and every target whose key it contains (by the mapping's order)."""
    lowered = relative.lower()
    matched = list(dict.fromkeys(target for key, target in mapping.items() if key.lower() in lowered))
    return (matched[0] if matched else "other"), matched


def _load_stem(path: Path, other_rates: str) -> tuple[np.ndarray, dict[str, Any]]:
    """A stem as float64 (frames, 2) at 44.1 kHz, and what was done to it."""
    try:
        info = audio_info(path)
    except AudioError as err:
        raise DatasetError(str(err)) from err
    if info.channels > 2:
        raise DatasetError(f"{path}: {info.channels} channels; the Periphery stems are mono or stereo")
    audio = read_audio(path, dtype="float64")
    report: dict[str, Any] = {"rate": info.samplerate, "channels": info.channels, "frames": info.frames}
    if not np.isfinite(audio).all():
        raise DatasetError(f"{path}: NaN or inf samples; re-export the stem")
    clipped = int(np.count_nonzero(np.abs(audio) >= FULL_SCALE))
    if clipped:
        report["clipped_samples"] = clipped
    if info.channels == 1:
        audio = np.repeat(audio, 2, axis=1)
        report["mono_to_stereo"] = True
    if info.samplerate != RATE:
        if other_rates == "refuse":
            raise DatasetError(
                f"{path}: sample rate {info.samplerate} Hz, expected {RATE} Hz; resample it, or set "
                "periphery.other_rates: resample"
            )
        audio = soxr.resample(audio, info.samplerate, RATE, quality="VHQ")
        report["resampled_from"] = info.samplerate
    return audio, report


def convert_song(folder: Path, out: Path, mapping: Mapping[str, str], other_rates: str, unequal_lengths: str) -> dict:
    """One song folder -> `out/{mixture,drums,bass,other,vocals}.wav`; returns its report."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".wav")
    if not paths:
        raise DatasetError(f"{folder}: no WAV stems in this song folder")
    stems, report = {}, {"song": folder.name, "folder": out.name, "stems": {}, "unmatched": [], "ambiguous": []}
    for path in paths:
        relative = str(path.relative_to(folder))
        target, matched = classify(relative, mapping)
        audio, info = _load_stem(path, other_rates)
        stems[relative] = (target, audio)
        report["stems"][relative] = {"target": target, **info}
        if not matched:
            report["unmatched"].append(relative)
        elif len(matched) > 1:
            report["ambiguous"].append({"stem": relative, "targets": matched, "chosen": target})
    lengths = {relative: audio.shape[0] for relative, (_, audio) in stems.items()}
    frames = max(lengths.values())
    if len(set(lengths.values())) > 1:
        if unequal_lengths == "refuse":
            listing = ", ".join(f"{r}: {n}" for r, n in lengths.items())
            raise DatasetError(
                f"{folder}: stems of unequal length in frames at {RATE} Hz ({listing}); trim them, or set "
                "periphery.unequal_lengths: pad"
            )
        report["padded"] = {r: frames - n for r, n in lengths.items() if n < frames}
    sums = {t: np.zeros((frames, 2)) for t in TARGETS}
    for target, audio in stems.values():
        sums[target][: audio.shape[0]] += audio
    sums["mixture"] = sum(sums[t] for t in TARGETS)
    report["missing_targets"] = [t for t in TARGETS if not any(s[0] == t for s in stems.values())]
    report["peaks"] = {name: float(np.max(np.abs(x))) for name, x in sums.items()}
    report["clipping"] = sorted(name for name, peak in report["peaks"].items() if peak >= FULL_SCALE) + sorted(
        r for r, s in report["stems"].items() if s.get("clipped_samples")
    )
    report["frames"] = frames
    out.mkdir(parents=True)
    for name, audio in sums.items():
        sf.write(out / f"{name}.wav", audio.astype(np.float32), RATE, subtype="FLOAT", format="WAV")
    return report


def convert_periphery(
    raw: Path,
    out: Path,
    mapping: Mapping[str, str] = DEFAULT_MAPPING,
    other_rates: str = "resample",
    unequal_lengths: str = "pad",
) -> dict:
    """Every song folder of `raw` -> `out/train/<song>/` (MUSDB layout) and `out/conversion.json`."""
    raw, out = Path(raw), Path(out)
    if not raw.is_dir():
        raise DatasetError(
            f"periphery.raw '{raw}' does not exist or is not a folder; point it at the folder holding one "
            "folder of stem WAVs per song"
        )
    unknown = sorted(set(mapping.values()) - set(TARGETS))
    if unknown:
        raise DatasetError(f"periphery.mapping: unknown target(s) {unknown}; targets are {', '.join(TARGETS)}")
    songs = sorted(p for p in raw.iterdir() if p.is_dir())
    if not songs:
        loose = any(p.is_file() and p.suffix.lower() == ".wav" for p in raw.iterdir())
        hint = (
            f"; it holds stem WAVs itself, so it looks like one song's folder: point periphery.raw at the folder "
            f"above it ('{raw.parent}')" if loose else "; copy the song folders there"
        )
        raise DatasetError(f"periphery.raw '{raw}': no song folders; it must hold one folder of stem WAVs per song{hint}")
    names = [musdb_folder_name(s.name) for s in songs]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise DatasetError(f"{raw}: song folders map to the same name {clash} once spaces and '-' become '_'")
    with atomic_dir(out) as tmp:
        reports = [
            convert_song(song, tmp / "train" / name, mapping, other_rates, unequal_lengths)
            for song, name in tqdm(list(zip(songs, names)), desc="converting", unit="song", mininterval=5)
        ]
        summary = {
            "raw": str(raw),
            "rate": RATE,
            "mapping": dict(mapping),
            "other_rates": other_rates,
            "unequal_lengths": unequal_lengths,
            "songs": len(reports),
            "unmatched": {r["song"]: r["unmatched"] for r in reports if r["unmatched"]},
            "ambiguous": {r["song"]: r["ambiguous"] for r in reports if r["ambiguous"]},
            "resampled": {
                r["song"]: sorted(s for s, i in r["stems"].items() if "resampled_from" in i)
                for r in reports
                if any("resampled_from" in i for i in r["stems"].values())
            },
            "padded": {r["song"]: r["padded"] for r in reports if r.get("padded")},
            "clipping": {r["song"]: r["clipping"] for r in reports if r["clipping"]},
            "tracks": reports,
        }
        (tmp / "conversion.json").write_text(json.dumps(summary, indent=2))
    for key in ("unmatched", "ambiguous", "resampled", "padded", "clipping"):
        if summary[key]:
            log.warning("%s: %s", key, json.dumps(summary[key]))
    return summary
