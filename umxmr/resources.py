"""Memory and run time each rule's jobs need: THE place to update when a rule's memory changes.

Snakemake reads these through the resource functions of rules/common.smk (`mem_mb`, and
`runtime` for SLURM). Memory is in MB of 10**6 bytes, as Snakemake's `mem_mb`; time in minutes.

Where memory is flat (it depends on no track's length), a rule needs a fixed number. The three
per-track rules grow with the track: separate (by the kind of the variant's model,
`separate_kind`) and oracle_estimates linearly in its duration;
evaluate (BSSEval v4) with the FFT length museval pads the track to, the next power of two of
samples + 511, and with the samples. Each figure is the kernel's peak resident memory
(`getrusage` ru_maxrss of the job and its children) measured by tests/test_resources.py and
bench/full_length.py, with a margin (`MARGIN`, `MARGIN_MB`); a retry (Snakemake's `attempt`)
asks `RETRY_GROWTH` more per attempt. tests/test_resources.py checks
measured <= declared <= 1.5 x measured + 500 MB for each.

No torch, numpy or Snakemake here: rules/common.smk imports it at parse time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RATE = 44100
MARGIN = 1.15  # declared = measured model x MARGIN + MARGIN_MB
MARGIN_MB = 200
RETRY_GROWTH = 0.5  # a retry asks 50 % more per attempt: attempt 2 -> x1.5, attempt 3 -> x2
BSSEVAL_FILTER = 512  # museval's filters_len: the FFT covers samples + 511


@dataclass(frozen=True)
class TrackMemory:
    """Peak memory of one job on a track: `base_mb` + `mb_per_second` x duration
    + `mb_per_fft_mega` x (FFT length / 2**20) where the FFT is BSSEval's."""

    base_mb: float
    mb_per_second: float = 0.0
    mb_per_fft_mega: float = 0.0

    def measured_mb(self, seconds: float) -> float:
        samples = int(round(seconds * RATE))
        fft = 2 ** math.ceil(math.log2(samples + BSSEVAL_FILTER - 1)) if self.mb_per_fft_mega else 0
        return self.base_mb + self.mb_per_second * seconds + self.mb_per_fft_mega * fft / 2**20


@dataclass(frozen=True)
class TrackTime:
    """Run time of one job on a track: `base_min` + `min_per_minute` x duration (minutes)."""

    base_min: float
    min_per_minute: float


# Measured 2026-11-30 on a 2-core CPU shared with other jobs (umx-mr-0 at published size,
# random weights; 4 targets; the rules' threads): tests/test_resources.py. separate and
# oracle_estimates block by block (branch i14a, commit 04778bc: its bench/README's figures,
# the same measure: 979 MB at 60 s, 1144 MB at 240 s; oracle 863 MB at 60 s, 903 MB at 240 s).
TRACK_MEMORY: dict[str, TrackMemory] = {
    "separate": TrackMemory(base_mb=923, mb_per_second=0.94),
    "oracle_estimates": TrackMemory(base_mb=850, mb_per_second=0.22),
    # full BSSEval v4 with 2 forked workers (umxmr.evaluation.bsseval): the job and its workers
    # together, each page once, in a memory cgroup of their own (tests/peak_memory.py,
    # bench/full_length.py): 727 MB at 5 s (FFT 2**18 points), 1903 MB at 60 s (2**22), 7038 MB
    # at 240 s (2**24), 13254 MB at 420 s (2**25), 2026-11-30. 270 MB per 2**20 FFT points (the
    # references' spectra, 128 B per point, the workers' buffers and the FFT plan) and 10.5 MB
    # per second of audio (references and estimates as float64, twice) fit the three long
    # tracks; the base is the 5 s track's rest (three interpreters with numpy, scipy, museval)
    "evaluate": TrackMemory(base_mb=600, mb_per_second=10.5, mb_per_fft_mega=270),
    # the SDR path (umxmr.evaluation.sdr): references and estimates as float64, one source's
    # per-sample arrays at a time: 148 MB on the tiny run's 3 s tracks, 399 MB at 60 s, 1478 MB
    # at 240 s (tests/test_resources.py's measure, 2026-11-30): 6.0 MB per second
    "evaluate_sdr": TrackMemory(base_mb=148, mb_per_second=6.0),
    # the sliCQ phase-mix oracle (evaluation.slicq_oracle, umx-mr-7's transform), 4 slices at a
    # time from the stem files (umxmr.oracle.estimates.slicq_phase_mix_blocks; ru_maxrss, one
    # process, tests/peak_memory.py: 670 MB at 30 s, 691 MB at 120 s, 2026-11-30, branch i14d;
    # 16 slices at a time: 1562 / 1600 MB; whole track before: 1956 / 4279 MB; bench/README.md)
    "oracle_slicq_estimates": TrackMemory(base_mb=663, mb_per_second=0.23),
}

# separate of the variants whose peak differs from umx-mr-0's (TRACK_MEMORY["separate"]), by
# `separate_kind`; measured 2026-11-30 as above, 4 targets at published size, random weights,
# at 60 s and 240 s by bench/separation_memory.py --variant (bench/README.md). umx-mr-4
# (blocked: 999 MB at 60 s, 1171 MB at 240 s, 0.95 MB/s) is within umx-mr-0's figure.
SEPARATE_MEMORY: dict[str, TrackMemory] = {
    # umx-mr-7, sliCQ block by block: 778 MB at 5 s (tests/test_resources.py); three runs at 60 s
    # and 240 s: 1103/1544 MB (before SliceOverlapAdd copied its tail), 1190/1334, 1055/1352. The
    # arrays that grow with the track are umx-mr-0's (mixture, fc2 outputs); the spread is the
    # allocator's heap, which grows while pass 2 frees and takes the sliCQ's ~20 MB temporaries
    # (one target, 30 s to 120 s: +148 MB, +38 MB with glibc's mmap threshold fixed at 128 kB).
    # The line through the highest at 60 s and at 240 s
    "slicq": TrackMemory(base_mb=1072, mb_per_second=1.97),
    # umx-mr-7-whole, the whole-signal NSGT on the whole track: 842 MB at 5 s, 1899 MB at 30 s,
    # 3403 MB at 60 s, 6152 MB at 120 s (the line through 5 s and 60 s, above the others)
    "nsgt-whole": TrackMemory(base_mb=609, mb_per_second=46.6),
}

# Minutes, about 3 to 7 times the wall time measured on a shared 2-core machine (load 4 to 9,
# bench/full_length.py, umx-mr-0 at published size, 2026-11-30) for slower cluster cores; a job
# killed at its limit is retried with `attempt` times the time. Measured: separate 74 s at
# 4 min, 84 s at 7 min; oracle_estimates 119 s and 50 s; evaluate (2 workers) 186-261 s and
# 231-332 s.
TRACK_TIME: dict[str, TrackTime] = {
    "separate": TrackTime(base_min=5, min_per_minute=1),
    "oracle_estimates": TrackTime(base_min=5, min_per_minute=1),
    "evaluate": TrackTime(base_min=5, min_per_minute=2),
    # the SDR path: 0.2 s for a 4-minute track once read (bench/README.md); start-up and reading
    "evaluate_sdr": TrackTime(base_min=5, min_per_minute=0.5),
    # block by block: 23 s for 30 s of audio, 86 s for 120 s, on 2 shared cores (2026-11-30)
    "oracle_slicq_estimates": TrackTime(base_min=5, min_per_minute=2),
}

# Rules that hold one whole track of a split at a time: memory grows with the split's longest
# track (split, TrackMemory). dataset_statistics: the STFT of a training mixture; train: the
# full-track validation at batch 1 (published size); oracle_search: a validation track's STFTs.
SPLIT_MEMORY: dict[str, tuple[str, TrackMemory]] = {
    # the whole mixture's STFT and its magnitude in float64 for the scaler: 626 MB at 5 s, 636 MB
    # at 60 s, 1314 MB at 240 s, 2010 MB at 420 s (bench/full_length.py); the line through the
    # two long tracks (below 60 s the torch start-up's ~600 MB dominates; the margin covers it)
    "dataset_statistics": ("train", TrackMemory(base_mb=386, mb_per_second=3.87)),
    # published size, batch 16 x 6 s, 2 threads: 1611 MB with a 5 s validation track
    # (tests/peak_memory.py's way); with a 60 s, 4, 7 and 10 minute one 1721, 1995, 2777 and
    # 3654 MB (bench/full_length.py: the whole-track validation's activations grow with it)
    "train": ("valid", TrackMemory(base_mb=1600, mb_per_second=3.6)),
    # 2 processes, windows 256 to 32768: 756 MB at 5 s, 999 MB at 60 s
    "oracle_search": ("valid", TrackMemory(base_mb=734, mb_per_second=4.4)),
}

# demo_dataset renders each demo track whole: memory grows with demo.duration (config).
# 139 MB at 3 s (tiny run), 694 MB at 60 s (bench/full_length.py)
DEMO_MEMORY = TrackMemory(base_mb=110, mb_per_second=9.75)

# Rules whose memory depends on no track's length: peak MB measured on the demo (tiny sizes);
# train at published size (bench/full_length.py). Declared with the same margin.
# (dataset_manifest reads each stem block by block: flat in the track length.)
FIXED_MEMORY: dict[str, float] = {
    "demo_periphery_raw": 140,
    "periphery_convert": 140,
    "dataset_manifest": 140,
    "oracle_best": 155,
    "oracle_plot": 201,
    "select_seed": 142,
    "separator_config": 304,
    "aggregate": 142,
    "compare": 150,
    "boxplot": 203,
    "metric_boxplot": 205,
    "training_curves": 182,
    "seed_spread": 186,
    "config_page": 139,
    "variant_training_curves": 198,
    # published-size models (tests/test_resources.py): reading umxl's weights (hidden 1024,
    # the largest published model) 491 MB, umxhq's 336 MB; exporting umx-mr-0's 4 targets 331 MB
    "pretrained_model": 491,
    "export_openunmix": 331,
    # listening pages read only their excerpts (tiny run: 148 MB each)
    "listening_page": 148,
    "listening_index": 148,
}


def declared_mb(measured: float, attempt: int = 1) -> int:
    """What a rule declares for a job whose measured peak is `measured` MB, on try `attempt`."""
    return int(math.ceil((measured * MARGIN + MARGIN_MB) * (1 + RETRY_GROWTH * (attempt - 1))))


def test_track_seconds(manifest: Path) -> dict[str, float]:
    """Test track name -> duration in seconds, from a manifest written by umxmr.data.layout."""
    data = json.loads(Path(manifest).read_text())
    return {entry["name"]: entry["frames"] / entry["rate"] for entry in data["splits"]["test"]}


def track_seconds(manifest: Path, track: str) -> float:
    """Duration in seconds of test track `track` of a manifest."""
    seconds = test_track_seconds(manifest)
    if track not in seconds:
        raise KeyError(f"track {track!r} is not a test track of {manifest}; rebuild the manifest")
    return seconds[track]


def split_seconds(manifest: Path, split: str) -> float:
    """The longest track of `split` in a manifest, in seconds (0 for an empty split)."""
    data = json.loads(Path(manifest).read_text())
    return max((entry["frames"] / entry["rate"] for entry in data["splits"][split]), default=0.0)


def split_mem_mb(rule: str, manifest: Path, attempt: int = 1) -> int:
    """mem_mb of a job of `rule` (a key of SPLIT_MEMORY) on the dataset of `manifest`."""
    split, memory = SPLIT_MEMORY[rule]
    return declared_mb(memory.measured_mb(split_seconds(manifest, split)), attempt)


def demo_mem_mb(seconds: float, attempt: int = 1) -> int:
    """mem_mb of demo_dataset for demo tracks of `seconds` (demo.duration)."""
    return declared_mb(DEMO_MEMORY.measured_mb(seconds), attempt)


def separate_kind(settings: Mapping[str, Any]) -> str:
    """Which memory figure separate of a variant (its resolved settings) needs: "nsgt-whole"
    (the whole-signal NSGT, umx-mr-7-whole: its model runs on the whole track), "slicq" (the
    sliced NSGT, umx-mr-7: block by block, with its own heap growth), "blocked" (every other
    front end, umx-mr-4 included)."""
    model = settings["model"]
    if model.get("architecture") == "nsgt":
        return "slicq" if (model.get("nsgt") or {}).get("sliced", False) else "nsgt-whole"
    return "blocked"


def track_memory(rule: str, kind: str = "blocked") -> TrackMemory:
    """The measured model of per-track `rule`; for separate, of the `separate_kind` `kind`."""
    if rule == "separate" and kind != "blocked":
        return SEPARATE_MEMORY[kind]
    return TRACK_MEMORY[rule]


def track_mem_mb(rule: str, seconds: float, attempt: int = 1, kind: str = "blocked") -> int:
    """mem_mb of a job of per-track `rule` on a track of `seconds` (separate: of a variant
    whose `separate_kind` is `kind`)."""
    return declared_mb(track_memory(rule, kind).measured_mb(seconds), attempt)


def track_runtime(rule: str, seconds: float, attempt: int = 1) -> int:
    """runtime (minutes) of a job of per-track `rule` on a track of `seconds`."""
    time = TRACK_TIME[rule]
    return int(math.ceil((time.base_min + time.min_per_minute * seconds / 60) * attempt))


def fixed_mem_mb(rule: str, attempt: int = 1) -> int:
    """mem_mb of a job of flat-memory `rule`."""
    return declared_mb(FIXED_MEMORY[rule], attempt)
