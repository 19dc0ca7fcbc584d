"""MUSDB18-HQ-layout datasets: find the tracks of each split and check they are usable.

The check runs once, in the rule that writes the dataset manifest, so a wrong path, a
missing stem or a mono or 48 kHz file stops the workflow before any training, with a
message naming the file. Everything downstream reads the manifest instead of the tree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from umxmr.atomic import write_text
from umxmr.audio import RATE, AudioError, audio_info

STEMS = ("mixture", "drums", "bass", "other", "vocals")
SPLITS = ("train", "valid", "test")


class DatasetError(ValueError):
    """A dataset that does not have the layout or audio the pipeline needs."""


@dataclass(frozen=True)
class TrackInfo:
    """One checked track: where its stems are and how long they are."""

    name: str
    split: str
    folder: str
    frames: int
    rate: int
    channels: int

    def path(self, stem: str) -> Path:
        return Path(self.folder) / f"{stem}.wav"

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def check_track(folder: Path, split: str, stems: Sequence[str] = STEMS) -> TrackInfo:
    """Header checks of every stem of a track: present, readable, 44.1 kHz, stereo, equal length."""
    frames = None
    for stem in stems:
        path = folder / f"{stem}.wav"
        if not path.is_file():
            raise DatasetError(
                f"{path}: missing stem '{stem}.wav'; every track needs {', '.join(s + '.wav' for s in stems)}"
            )
        try:
            info = audio_info(path)
        except AudioError as err:
            raise DatasetError(str(err)) from err
        if info.samplerate != RATE:
            raise DatasetError(
                f"{path}: sample rate {info.samplerate} Hz, expected {RATE} Hz; resample the track "
                "(e.g. sox in.wav -r 44100 out.wav)"
            )
        if info.channels != 2:
            raise DatasetError(f"{path}: {info.channels} channel(s), expected stereo (2)")
        if info.frames == 0:
            raise DatasetError(f"{path}: no audio frames (empty or truncated file)")
        if frames is not None and info.frames != frames:
            raise DatasetError(
                f"{path}: {info.frames} frames, but {folder / (stems[0] + '.wav')} has {frames}; "
                "all stems of a track must have the same length"
            )
        frames = info.frames
    return TrackInfo(folder.name, split, str(folder), int(frames), RATE, 2)


def _musdb_split_names(root: Path, setup_file: str | None) -> dict[str, list[str]]:
    """Track names per split, as `musdb.DB` splits them (its validation list, or the setup file's)."""
    import musdb  # imports stempeg, which needs ffmpeg: see umxmr.requirements

    names = {}
    for split, subsets, musdb_split in (
        ("train", "train", "train"),
        ("valid", "train", "valid"),
        ("test", "test", None),
    ):
        db = musdb.DB(root=str(root), setup_file=setup_file, is_wav=True, subsets=subsets, split=musdb_split)
        names[split] = [track.name for track in db.tracks]
    return names


def scan_musdb_layout(root: Path, setup_file: str | None = None) -> dict[str, list[TrackInfo]]:
    """Check a MUSDB18-HQ-layout tree and return its tracks per split."""
    if not root.is_dir():
        raise DatasetError(
            f"dataset.root '{root}' does not exist or is not a folder; point dataset.root in "
            "config.yaml at your MUSDB18-HQ folder (the one holding train/ and test/)"
        )
    for subset in ("train", "test"):
        if not (root / subset).is_dir():
            raise DatasetError(f"{root / subset}: missing; a MUSDB18-HQ folder holds train/ and test/")
    names = _musdb_split_names(root, setup_file)
    tracks = {
        split: [check_track(root / ("test" if split == "test" else "train") / name, split) for name in names[split]]
        for split in SPLITS
    }
    for split in SPLITS:
        if not tracks[split]:
            raise DatasetError(f"{root}: no tracks in the {split} split")
    return tracks


def write_manifest(path: Path, kind: str, root: Path, tracks: Mapping[str, list[TrackInfo]]) -> None:
    """The checked dataset as JSON: the single source of track lists for later rules."""
    manifest = {
        "kind": kind,
        "root": str(root),
        "rate": RATE,
        "splits": {split: [asdict(t) for t in tracks[split]] for split in SPLITS},
    }
    write_text(path, json.dumps(manifest, indent=2))


def load_manifest(path: Path) -> dict[str, list[TrackInfo]]:
    """Tracks per split from a manifest written by `write_manifest`."""
    manifest: dict[str, Any] = json.loads(Path(path).read_text())
    return {split: [TrackInfo(**t) for t in manifest["splits"][split]] for split in SPLITS}
