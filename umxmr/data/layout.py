"""Datasets on disk: find the tracks of each split and check they are usable.

The check runs once, in the rule that writes the dataset manifest, so a wrong path, a
missing stem, a mono, 48 kHz, truncated or NaN-holding file stops the workflow before any
training, with a message naming the file. Everything downstream reads the manifest instead
of the tree.

Kinds: `musdb18hq` and `demo` (MUSDB18-HQ layout, split by musdb itself), `trackfolder`
(train/, test/ and valid/ or a list of validation tracks, stem file names from the config,
as open-unmix's `trackfolder_fix`) and `periphery` (the converted Periphery stems: every
track is a training track).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm import tqdm

from umxmr.atomic import write_text
from umxmr.data.audio import RATE, AudioError, audio_info, open_audio

log = logging.getLogger(__name__)

STEMS = ("mixture", "drums", "bass", "other", "vocals")
SPLITS = ("train", "valid", "test")
# MUSDB18-HQ as published: 100 tracks in train/ (86 train + 14 valid by musdb's list), 50 in test/
MUSDB18HQ_COUNTS = {"train": 86, "valid": 14, "test": 50}
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
BLOCK_FRAMES = 1 << 16  # samples read at once by the NaN/inf scan: bounded memory


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
    files: dict[str, str] | None = None  # stem -> file name, when not "<stem>.wav"
    sizes: dict[str, int] | None = None  # stem -> bytes on disk

    def path(self, stem: str) -> Path:
        return Path(self.folder) / (self.files or {}).get(stem, f"{stem}.wav")

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def check_finite(path: Path) -> None:
    """Read `path` block by block and fail on the first NaN or inf sample.

    Only float WAVs can hold them; integer PCM is skipped (reading it would cost minutes on
    MUSDB18-HQ and find nothing).
    """
    info = audio_info(path)
    if info.subtype not in FLOAT_SUBTYPES:
        return
    done = 0
    try:
        with open_audio(path) as f:
            for block in f.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
                bad = ~np.isfinite(block)
                if bad.any():
                    frame = done + int(np.flatnonzero(bad.any(axis=1))[0])
                    raise DatasetError(
                        f"{path}: NaN or inf sample at frame {frame} ({frame / info.samplerate:.2f} s); "
                        "re-export the file"
                    )
                done += block.shape[0]
    except (RuntimeError, sf.LibsndfileError) as err:
        raise DatasetError(f"{path}: cannot read audio after frame {done} ({err}); replace or re-export it") from err


def check_track(
    folder: Path,
    split: str,
    stems: Sequence[str] = STEMS,
    files: Mapping[str, str] | None = None,
) -> TrackInfo:
    """Every stem of a track: present, complete, 44.1 kHz, stereo, equal length, finite samples."""
    files = dict(files or {})
    frames, first, sizes = None, None, {}
    for stem in stems:
        path = folder / files.get(stem, f"{stem}.wav")
        if not path.is_file():
            wanted = ", ".join(files.get(s, f"{s}.wav") for s in stems)
            raise DatasetError(f"{path}: missing stem '{path.name}'; every track needs {wanted}")
        try:
            info = audio_info(path)  # truncation and header fields against libsndfile
        except AudioError as err:
            raise DatasetError(str(err)) from err
        if info.note:
            log.warning(info.note)
        if info.samplerate != RATE:
            raise DatasetError(
                f"{path}: sample rate {info.samplerate} Hz, expected {RATE} Hz; resample the track "
                "(e.g. sox in.wav -r 44100 out.wav), or, for dataset.kind: trackfolder, set "
                "dataset.other_rates: resample (resampled once into a cache)"
            )
        if info.channels != 2:
            raise DatasetError(f"{path}: {info.channels} channel(s), expected stereo (2)")
        if info.frames == 0:
            raise DatasetError(f"{path}: no audio frames (empty or truncated file)")
        if frames is not None and info.frames != frames:
            raise DatasetError(
                f"{path}: {info.frames} frames, but {first} has {frames}; all stems of a track must have the same length"
            )
        check_finite(path)
        frames, first = info.frames, path
        sizes[stem] = path.stat().st_size
    custom = {s: f for s, f in files.items() if f != f"{s}.wav"}
    return TrackInfo(folder.name, split, str(folder), int(frames), RATE, 2, custom or None, sizes)


AUDIO_SUFFIXES = (".wav", ".flac", ".mp4")


def _holds_audio(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith(".") for p in folder.iterdir())


def root_hint(root: Path) -> str:
    """What to do when `root` has no train/ or test/: it may be train/ or test/ itself (its
    subfolders hold stems) or the folder above the dataset (a subfolder holds train/ and test/)."""
    if not root.is_dir():
        return ""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if root.name in SPLITS or _holds_audio(root) or any(_holds_audio(d) for d in subdirs[:20]):
        return (
            f"; '{root}' looks like a train/ or test/ folder itself (it holds tracks), so point "
            f"dataset.root at the folder above it that holds both train/ and test/ (e.g. '{root.parent}')"
        )
    inner = [d for d in subdirs if (d / "train").is_dir() or (d / "test").is_dir()]
    if inner:
        return f"; the dataset seems to be one level down: point dataset.root at '{inner[0]}'"
    return ""


def _track_folders(subset: Path, wanted: str = "mixture.wav, drums.wav, bass.wav, other.wav, vocals.wav") -> list[Path]:
    """Track folders of train/ or test/, refusing the layouts that musdb would misread and empty folders."""
    if not subset.is_dir():
        found = ", ".join(sorted(p.name for p in subset.parent.iterdir())) or "nothing"
        raise DatasetError(
            f"{subset}: missing; the dataset folder must hold train/ and test/ (found: {found}); "
            f"point dataset.root at the folder that holds them{root_hint(subset.parent)}"
        )
    loose = sorted(p.name for p in subset.iterdir() if p.is_file() and p.suffix.lower() in (".wav", ".flac"))
    if loose:
        raise DatasetError(
            f"{subset}: audio files directly inside ({', '.join(loose[:3])}); each track must be a folder "
            f"{subset}/<track name>/ holding its stems"
        )
    folders = sorted(p for p in subset.iterdir() if p.is_dir())
    if not folders:
        raise DatasetError(
            f"{subset}: no track folders in it; {subset.name}/ should hold one folder per track, "
            f"{subset}/<track name>/, each with its stems ({wanted}); copy the tracks there"
        )
    for folder in folders:
        nested = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if nested:
            raise DatasetError(
                f"{folder}: holds folder(s) {', '.join(nested[:3])}; a track folder holds only its stem WAVs "
                "(musdb would read each subfolder as another track)"
            )
    return folders


def _check_folders(
    folders: Sequence[Path], desc: str, cache: Path | None = None, **kwargs: Any
) -> dict[str, TrackInfo]:
    """check_track on every folder, with a progress bar (the NaN scan reads float audio).

    A track that `cache` holds (`<cache>/<track>/`, resampled by `umxmr.data.resample`) is
    checked and listed there, with the cache's stem names."""
    checked = {}
    for f in tqdm(folders, desc=desc, unit="track", mininterval=5):
        if cache is not None and (cache / f.name).is_dir():
            checked[f.name] = check_track(cache / f.name, "unsplit")
        else:
            checked[f.name] = check_track(f, "unsplit", **kwargs)
    return checked


def _musdb_split_names(root: Path, setup_file: str | None) -> dict[str, list[str]]:
    """Track names per split, as `musdb.DB` splits them (its validation list, or the setup file's).

    `split` is always given with `subsets='train'`: `split='valid'` alone also returns the
    test tracks (sigsep-mus-db #60).
    """
    import musdb  # imports stempeg, which needs ffmpeg (the Makefile installs it; see README)

    names = {}
    for split, subsets, musdb_split in (
        ("train", "train", "train"),
        ("valid", "train", "valid"),
        ("test", "test", None),
    ):
        db = musdb.DB(root=str(root), setup_file=setup_file, is_wav=True, subsets=subsets, split=musdb_split)
        names[split] = [track.name for track in db.tracks]
    return names


def _check_root(root: Path, what: str) -> None:
    if not root.is_dir():
        raise DatasetError(
            f"dataset.root '{root}' does not exist or is not a folder; point dataset.root in "
            f"config.yaml at your {what} folder (the one holding train/ and test/)"
        )
    if not any(p for p in root.iterdir() if not p.name.startswith(".")):
        raise DatasetError(
            f"dataset.root '{root}' is an empty folder; it should hold train/ and test/, each with one folder "
            f"per track holding its stems; copy your {what} there or point dataset.root at it"
        )


STEM_SUFFIX = ".stem.mp4"


def stem_track_names(subset: Path) -> list[str]:
    """Track names of the MUSDB18 `*.stem.mp4` files in `subset` (train/ or test/), sorted."""
    return sorted(p.name[: -len(STEM_SUFFIX)] for p in subset.iterdir() if p.name.endswith(STEM_SUFFIX))


def check_stems_root(root: Path) -> None:
    """`root` holds train/ and test/ with `*.stem.mp4` files, or a DatasetError saying what to do."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(
            f"dataset.root '{root}' does not exist or is not a folder; point dataset.root at your MUSDB18 "
            "folder (the one holding train/ and test/ with the *.stem.mp4 files)"
        )
    for subset in ("train", "test"):
        if not (root / subset).is_dir():
            raise DatasetError(
                f"{root / subset}: missing; a MUSDB18 folder holds train/ and test/ with *.stem.mp4 files; "
                f"point dataset.root at it{root_hint(root)}"
            )
        if not stem_track_names(root / subset):
            wavs = any(p.is_dir() for p in (root / subset).iterdir())
            hint = "; it holds folders: for MUSDB18-HQ (WAV folders) use dataset.kind: musdb18hq" if wavs else ""
            raise DatasetError(
                f"{root / subset}: no *.stem.mp4 files in it; MUSDB18 keeps one <track>.stem.mp4 per track "
                f"in train/ and test/{hint}"
            )


def list_test_tracks(root: Path, kind: str = "musdb18hq") -> list[str]:
    """Names of the test tracks under `root/test/`, known when the workflow is parsed: its
    track folders, or for `kind` musdb18 its `*.stem.mp4` files.

    Raises DatasetError naming dataset.root when the root, its test/ folder or its tracks are missing.
    """
    root = Path(root)
    _check_root(root, "dataset")
    if kind == "musdb18":
        check_stems_root(root)
        return stem_track_names(root / "test")
    test = root / "test"
    if not test.is_dir():
        raise DatasetError(
            f"dataset.root '{root}': no test/ folder there; point dataset.root in config.yaml "
            f"at your dataset folder (the one holding train/ and test/){root_hint(root)}"
        )
    names = sorted(p.name for p in test.iterdir() if p.is_dir())  # as the manifest lists them
    if not names:
        raise DatasetError(
            f"{test}: no track folders in it; test/ should hold one folder per test track with its stems; "
            "copy the test tracks there"
        )
    return names


def scan_musdb_layout(root: Path, setup_file: str | None = None) -> dict[str, list[TrackInfo]]:
    """Check a MUSDB18-HQ-layout tree and return its tracks per split, as musdb splits them.

    Every track folder is checked first (so musdb's own ffprobe never meets a broken file),
    then musdb names the split. A full MUSDB18-HQ (100 + 50 folders) must split 86/14/50.
    """
    _check_root(root, "MUSDB18-HQ")
    folders = {subset: _track_folders(root / subset) for subset in ("train", "test")}
    checked = {
        subset: _check_folders(folders[subset], f"checking {root / subset}") for subset in ("train", "test")
    }
    names = _musdb_split_names(root, setup_file)
    tracks = {
        split: [
            dataclasses.replace(checked["test" if split == "test" else "train"][name], split=split)
            for name in names[split]
        ]
        for split in SPLITS
    }
    counts = {split: len(tracks[split]) for split in SPLITS}
    listing = root / setup_file if setup_file else "musdb's validation list (musdb/configs/mus.yaml)"
    if not tracks["valid"]:
        raise DatasetError(
            f"{root / 'train'}: none of its {len(folders['train'])} track folders is in {listing}, so the "
            "validation split is empty; MUSDB18-HQ's train/ must keep its original track names "
            "(e.g. 'Actions - One Minute Smile'); for other data use dataset.kind: trackfolder"
        )
    if not tracks["train"]:
        raise DatasetError(
            f"{root / 'train'}: all its {len(folders['train'])} track folders are validation tracks in {listing}, "
            "so the training split is empty; add training tracks to train/"
        )
    check_musdb_counts(root, len(folders["train"]), len(folders["test"]), counts)
    return tracks


def check_musdb_counts(root: Path, train_folders: int, test_folders: int, counts: Mapping[str, int]) -> None:
    """A full MUSDB18-HQ (100 folders in train/, 50 in test/) must split 86/14/50; subsets may differ."""
    if train_folders == 100 and test_folders == 50 and dict(counts) != MUSDB18HQ_COUNTS:
        raise DatasetError(
            f"{root}: musdb split it into {dict(counts)}, but MUSDB18-HQ splits into {MUSDB18HQ_COUNTS}; "
            "were track folders renamed?"
        )


def scan_trackfolder(
    root: Path, stem_files: Mapping[str, str], valid_tracks: Sequence[str] = (), resampled: Path | None = None
) -> dict[str, list[TrackInfo]]:
    """Check a generic track-folder tree: root/{train,test}/<track>/ and root/valid/ or a valid list.

    `stem_files` names each stem's file (mixture, drums, bass, other, vocals; WAV or FLAC),
    the same in every track folder. Validation tracks come from root/valid/ or, without it,
    are the named folders of root/train/. Tracks that `resampled` holds (the cache of
    `umxmr.data.resample.resample_tree`, for `dataset.other_rates: resample`) are taken
    from there.
    """
    _check_root(root, "track-folder dataset")
    missing = [s for s in STEMS if s not in stem_files]
    if missing:
        raise DatasetError(f"dataset.stems: no file name for {', '.join(missing)}; name one for each of {', '.join(STEMS)}")
    has_valid_dir = (root / "valid").is_dir()
    if has_valid_dir and valid_tracks:
        raise DatasetError(
            f"{root / 'valid'}: exists, and dataset.valid_tracks lists tracks too; keep one of the two"
        )
    if not has_valid_dir and not valid_tracks:
        raise DatasetError(
            f"{root}: no valid/ folder and dataset.valid_tracks is empty; give validation tracks one way or the other"
        )
    subsets = ("train", "valid", "test") if has_valid_dir else ("train", "test")
    checked = {
        s: _check_folders(
            _track_folders(root / s, ", ".join(stem_files[t] for t in STEMS)),
            f"checking {root / s}",
            cache=Path(resampled) / s if resampled else None,
            files=stem_files,
        )
        for s in subsets
    }
    if not has_valid_dir:
        unknown = sorted(set(valid_tracks) - set(checked["train"]))
        if unknown:
            raise DatasetError(f"dataset.valid_tracks: {', '.join(unknown)} not found in {root / 'train'}")
        checked["valid"] = {n: checked["train"].pop(n) for n in valid_tracks}
    tracks = {s: [dataclasses.replace(t, split=s) for t in checked[s].values()] for s in SPLITS}
    if not tracks["train"]:
        raise DatasetError(
            f"dataset.valid_tracks: names every track of {root / 'train'}, so the training split is empty; "
            "leave some tracks for training"
        )
    return tracks


def scan_training_only(root: Path) -> dict[str, list[TrackInfo]]:
    """A MUSDB-layout tree whose tracks (root/train/<track>/) all serve training, as the converted Periphery."""
    _check_root(root, "converted")
    train = _check_folders(_track_folders(root / "train"), f"checking {root / 'train'}")
    return {"train": [dataclasses.replace(t, split="train") for t in train.values()], "valid": [], "test": []}


def scan_dataset(kind: str, root: Path, options: Mapping[str, Any] | None = None) -> dict[str, list[TrackInfo]]:
    """The checked tracks of a dataset of any kind (the manifest rule's one entry point)."""
    options, root = options or {}, Path(root)
    if kind == "musdb18hq":
        return scan_musdb_layout(root)
    if kind == "demo":
        return scan_musdb_layout(root, "setup.yaml")
    if kind == "trackfolder":
        return scan_trackfolder(root, options["stems"], options.get("valid_tracks", []), options.get("resampled"))
    if kind == "periphery":
        return scan_training_only(root)
    if kind == "musdb18":  # the MUSDB18-HQ-layout cache decoded from the *.stem.mp4 files
        return scan_musdb_layout(Path(options["decoded"]))
    raise DatasetError(f"dataset.kind: unknown kind {kind!r}")


def write_manifest(path: Path, kind: str, root: Path, tracks: Mapping[str, list[TrackInfo]]) -> None:
    """The checked dataset as JSON: the single source of track lists for later rules."""
    summary = {
        split: {
            "tracks": len(tracks[split]),
            "seconds": round(sum(t.duration for t in tracks[split]), 3),
            "bytes": sum(sum((t.sizes or {}).values()) for t in tracks[split]),
        }
        for split in SPLITS
    }
    manifest = {
        "kind": kind,
        "root": str(root),
        "rate": RATE,
        "channels": 2,
        "summary": summary,
        "splits": {split: [{**asdict(t), "duration": t.duration} for t in tracks[split]] for split in SPLITS},
    }
    write_text(path, json.dumps(manifest, indent=2))


def load_manifest(path: Path) -> dict[str, list[TrackInfo]]:
    """Tracks per split from a manifest written by `write_manifest`."""
    manifest: dict[str, Any] = json.loads(Path(path).read_text())
    fields = {f.name for f in dataclasses.fields(TrackInfo)}
    return {
        split: [TrackInfo(**{k: v for k, v in t.items() if k in fields}) for t in manifest["splits"][split]]
        for split in SPLITS
    }


def training_tracks(manifest: Path, extra: Sequence[Path] = ()) -> dict[str, list[TrackInfo]]:
    """The main dataset's splits with the training tracks of `extra` manifests added to train.

    Validation and test stay the main dataset's (umx-mr-6 validates on MUSDB's valid split).
    """
    tracks = load_manifest(manifest)
    for path in extra:
        tracks["train"] = tracks["train"] + load_manifest(path)["train"]
    return tracks
