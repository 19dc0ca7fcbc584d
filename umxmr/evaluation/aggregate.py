"""Aggregation of museval JSON scores, identical to museval's ``EvalStore``/``MethodStore``.

museval (``museval/aggregate.py``) turns a track JSON into a long frame
(time, target, metric, score, track = JSON file stem), then takes the median
over frames per (method, track, target, metric) with ``groupby(...).median()``
and the median of those over tracks per (method, target, metric). pandas'
median skips NaN (frames where a source is silent are stored as NaN), and a
group with only NaN gives NaN. We do the same with the same pandas operations,
without museval's glob over ``test/**/*.json`` (the pipeline knows its files).

A JSON of the SDR path (:mod:`umxmr.evaluation.sdr`) lists the metrics it holds under
``metrics`` (["SDR"]); only those are read (its SIR/SAR/ISR are NaN placeholders). Its
``uSDR`` (global SDR per target) becomes the metric :data:`USDR`, which :func:`summarize`
averages over tracks (the MDX 2021 / Music-Source-Separation-Training convention) where
museval's metrics take the median.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from umxmr.provenance import TABLE_COLUMNS, provenance_row

__all__ = ["load_global_sdr", "load_provenance", "load_scores", "load_track_scores", "summarize", "USDR"]

METRICS = ("SDR", "SIR", "SAR", "ISR")
USDR = "uSDR"  # global SDR: one SNR over the whole track (umxmr.evaluation.sdr.global_sdr)
SCORE_COLUMNS = ["variant", "target", "track", "metric", "score"]


def _score(value, path: Path) -> float:
    if value is None:  # defensive: some writers emit null for NaN
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: score {value!r} is not a number") from None


def _read_frames(path: Path) -> list[tuple[str, str, float]]:
    """(target, metric, score) for every frame of one museval JSON file, for the metrics it
    holds (its ``metrics`` key; museval's own files: all four)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)  # accepts the NaN literals museval writes
    try:
        targets = data["targets"]
        held = [m for m in METRICS if m in data.get("metrics", METRICS)]
        rows = []
        for target in targets:
            name = target["name"]
            for frame in target["frames"]:
                metrics = frame["metrics"]
                for metric in held:
                    rows.append((name, metric, _score(metrics[metric], path)))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a museval track JSON ({exc!r})") from exc
    return rows


def load_track_scores(json_paths: Mapping[str, Sequence[Path]]) -> pd.DataFrame:
    """variant -> museval JSON files; long format with columns variant, target, track, metric, score,
    score = median over frames (nan frames dropped, as museval's EvalStore does).

    The track name is the JSON file stem (museval's convention). Two files of one
    variant with the same stem are an error (museval would silently pool their
    frames). ``variant`` is a categorical whose categories keep the order of
    ``json_paths``; rows are sorted by variant, target, track, metric.
    """
    variants = list(json_paths)
    frames = []
    for variant in variants:
        paths = json_paths[variant]
        if isinstance(paths, (str, Path)):
            raise TypeError(f"variant {variant!r}: expected a sequence of paths, got {paths!r}")
        seen: dict[str, Path] = {}
        for path in map(Path, paths):
            track = path.stem
            if track in seen:
                raise ValueError(
                    f"variant {variant!r}: {path} and {seen[track]} both give track {track!r}"
                )
            seen[track] = path
            rows = _read_frames(path)
            df = pd.DataFrame(rows, columns=["target", "metric", "score"])
            df["track"] = track
            df["variant"] = variant
            frames.append(df)

    columns = ["variant", "target", "track", "metric"]
    if frames:
        long = pd.concat(frames, ignore_index=True)
        long["score"] = long["score"].astype(np.float64)
        # same operation as museval's agg_frames_scores: groupby median skips NaN
        scores = long.groupby(columns, sort=True)["score"].median().reset_index()
    else:
        scores = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        scores["score"] = pd.Series(dtype=np.float64)
    scores["variant"] = pd.Categorical(scores["variant"], categories=variants)
    scores = scores.sort_values(columns, kind="stable").reset_index(drop=True)
    return scores[SCORE_COLUMNS]


def load_global_sdr(json_paths: Mapping[str, Sequence[Path]]) -> pd.DataFrame:
    """variant -> SDR-path JSONs (with a ``uSDR`` record); long format as
    :func:`load_track_scores` with metric :data:`USDR` and the track's global SDR as score."""
    rows = []
    for variant, paths in json_paths.items():
        for path in map(Path, paths):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data.get(USDR), Mapping):
                raise ValueError(f"{path}: no {USDR!r} record (not written by umxmr.evaluation.sdr)")
            rows += [(variant, target, path.stem, USDR, _score(v, path)) for target, v in data[USDR].items()]
    table = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    table["score"] = table["score"].astype(np.float64)
    table["variant"] = pd.Categorical(table["variant"], categories=list(json_paths))
    return table


def load_scores(
    score_paths: Mapping[str, Sequence[Path]], sdr_paths: Mapping[str, Sequence[Path]]
) -> pd.DataFrame:
    """scores.csv: the museval metrics of ``score_paths`` (museval's full JSONs, or the SDR
    path's) by :func:`load_track_scores`, and the uSDR rows of ``sdr_paths`` (the SDR path's
    JSONs) by :func:`load_global_sdr`; sorted by variant, target, track, metric."""
    scores = pd.concat([load_track_scores(score_paths), load_global_sdr(sdr_paths)], ignore_index=True)
    scores["variant"] = pd.Categorical(scores["variant"].astype(str), categories=list(score_paths))
    columns = ["variant", "target", "track", "metric"]
    return scores.sort_values(columns, kind="stable").reset_index(drop=True)[SCORE_COLUMNS]


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """median over tracks per variant, target, metric (+ a column n_tracks); the mean for uSDR.

    Columns: variant, target, metric, score, n_tracks. ``score`` is the median of
    the per-track scores skipping NaN (museval's ``agg_frames_tracks_scores``), for
    :data:`USDR` their mean (MDX 2021's "SDR"); ``n_tracks`` is the number of tracks
    with a non-NaN score, i.e. how many tracks that median is taken over (NaN score
    when it is 0).
    """
    missing = set(SCORE_COLUMNS) - set(scores.columns)
    if missing:
        raise ValueError(f"scores lack columns {sorted(missing)}")
    keys = ["variant", "target", "metric"]
    grouped = scores.groupby(keys, sort=True, observed=True)["score"]
    out = grouped.median().to_frame("score")
    mean = grouped.mean()
    is_usdr = out.index.get_level_values("metric") == USDR
    out.loc[is_usdr, "score"] = mean[is_usdr]
    out["n_tracks"] = grouped.count().astype(np.int64)
    return out.reset_index()[[*keys, "score", "n_tracks"]]


def load_provenance(json_paths: Mapping[str, Sequence[Path]]) -> pd.DataFrame:
    """One row per variant from the ``provenance`` records of its track JSONs (none: "–").

    Columns: variant, then :data:`umxmr.provenance.TABLE_COLUMNS`; a field that differs
    between a variant's tracks lists every value.
    """
    rows = []
    for variant, paths in json_paths.items():
        records = []
        for path in map(Path, paths):
            with open(path, encoding="utf-8") as f:
                records.append(json.load(f).get("provenance", {}))
        rows.append({"variant": variant, **provenance_row(records)})
    table = pd.DataFrame(rows, columns=["variant", *TABLE_COLUMNS])
    table["variant"] = pd.Categorical(table["variant"], categories=list(json_paths))
    return table
