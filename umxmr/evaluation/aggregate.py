"""Aggregation of museval JSON scores, identical to museval's ``EvalStore``/``MethodStore``.

museval (``museval/aggregate.py``) turns a track JSON into a long frame
(time, target, metric, score, track = JSON file stem), then takes the median
over frames per (method, track, target, metric) with ``groupby(...).median()``
and the median of those over tracks per (method, target, metric). pandas'
median skips NaN (frames where a source is silent are stored as NaN), and a
group with only NaN gives NaN. We do the same with the same pandas operations,
without museval's glob over ``test/**/*.json`` (the pipeline knows its files).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from umxmr.provenance import TABLE_COLUMNS, provenance_row

__all__ = ["load_provenance", "load_track_scores", "summarize"]

METRICS = ("SDR", "SIR", "SAR", "ISR")
SCORE_COLUMNS = ["variant", "target", "track", "metric", "score"]


def _score(value, path: Path) -> float:
    if value is None:  # defensive: some writers emit null for NaN
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: score {value!r} is not a number") from None


def _read_frames(path: Path) -> list[tuple[str, str, float]]:
    """(target, metric, score) for every frame of one museval JSON file."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)  # accepts the NaN literals museval writes
    try:
        targets = data["targets"]
        rows = []
        for target in targets:
            name = target["name"]
            for frame in target["frames"]:
                metrics = frame["metrics"]
                for metric in METRICS:
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


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """median over tracks per variant, target, metric (+ a column n_tracks).

    Columns: variant, target, metric, score, n_tracks. ``score`` is the median of
    the per-track scores skipping NaN (museval's ``agg_frames_tracks_scores``);
    ``n_tracks`` is the number of tracks with a non-NaN score, i.e. how many
    tracks that median is taken over (NaN score when it is 0).
    """
    missing = set(SCORE_COLUMNS) - set(scores.columns)
    if missing:
        raise ValueError(f"scores lack columns {sorted(missing)}")
    keys = ["variant", "target", "metric"]
    grouped = scores.groupby(keys, sort=True, observed=True)["score"]
    out = grouped.median().to_frame("score")
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
