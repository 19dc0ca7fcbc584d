"""Demo separation quality: umx-mr-0 against the mixture-as-estimate baseline.

Run after `make demo`: evaluates the mixture as the estimate of every target with the
same museval settings, and prints median SDR (median over frames, then over tracks) per
target for both, and the gain. The model must beat the baseline for every target.

    .venv/bin/python bench/demo_quality.py [results dir] [manifest]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import soundfile as sf

from umxmr.evaluation.aggregate import load_track_scores, summarize
from umxmr.evaluation.evaluate import evaluate_track


def mixture_baseline(manifest: Path, targets: list[str], out_dir: Path) -> list[Path]:
    """museval JSON per test track with the mixture as every target's estimate."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for track in json.loads(manifest.read_text())["splits"]["test"]:
        folder = Path(track["folder"])
        mixture, rate = sf.read(folder / "mixture.wav")
        references = {t: sf.read(folder / f"{t}.wav")[0] for t in targets}
        store = evaluate_track(references, {t: mixture for t in targets}, track["name"], rate)
        path = out_dir / f"{track['name']}.json"
        path.write_text(store.json)
        paths.append(path)
    return paths


def main(results: Path = Path("results"), manifest: Path = Path("data/demo.manifest.json")) -> None:
    targets = json.loads((results / "umx-mr-0" / "separator.json").read_text())["targets"]
    baseline = mixture_baseline(manifest, targets, results / "bench" / "mixture-baseline")
    model = sorted((results / "umx-mr-0" / "museval").glob("*.json"))
    scores = load_track_scores({"umx-mr-0": model, "mixture": baseline})
    sdr = summarize(scores).query("metric == 'SDR'").pivot(index="target", columns="variant", values="score")
    sdr["gain"] = sdr["umx-mr-0"] - sdr["mixture"]
    print(sdr.loc[targets].round(2).to_string())
    if (sdr["gain"] <= 0).any():
        sys.exit("umx-mr-0 does not beat the mixture baseline for every target")


if __name__ == "__main__":
    main(*map(Path, sys.argv[1:]))
