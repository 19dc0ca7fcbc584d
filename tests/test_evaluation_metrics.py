"""evaluation.metrics on a finished run: [SDR] re-tables the same estimates without separating
or evaluating again; asking for all four later evaluates only museval's files."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
import yaml

from workflow_helpers import snakemake

EVAL_JOBS = {"evaluate", "evaluate_sdr", "separate", "oracle_estimates", "train"}


def jobs(output: str) -> dict[str, int]:
    table = output[output.index("Job stats:") :].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def set_metrics(workdir, metrics):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["evaluation"]["metrics"] = metrics
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


@pytest.mark.workflow
def test_sdr_only_then_all_four(finished_run, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(finished_run, workdir, symlinks=True)  # mtimes and Snakemake's records kept
    set_metrics(workdir, ["SDR"])
    result = snakemake(workdir)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    ran = jobs(result.stdout + result.stderr)
    assert not EVAL_JOBS & set(ran), ran  # only the tables and plots are redone
    assert {"aggregate", "compare", "boxplot"} <= set(ran)
    scores = pd.read_csv(workdir / "results/scores.csv")
    assert sorted(set(scores["metric"])) == ["SDR", "uSDR"]
    before = pd.read_csv(finished_run / "results/scores.csv")
    merged = scores.merge(before, on=["variant", "target", "track", "metric"], suffixes=("", "_full"))
    assert len(merged) == len(scores) == 2 * 4 * 2 * 2
    # the same per-track SDR medians as from museval's files (5-decimal JSON), the same uSDR
    assert (merged["score"] - merged["score_full"]).abs().max() <= 1.1e-5
    summary_md = (workdir / "results/summary.md").read_text()
    assert "Metrics computed: SDR (evaluation.metrics: [SDR]; SIR, SAR and ISR not computed)" in summary_md
    assert (workdir / "results/boxplot_SDR.pdf").exists()
    # all four again, museval's files gone (as if never made): only they are evaluated
    for path in workdir.glob("results/*/museval/*.json"):
        path.unlink()
    set_metrics(workdir, ["SDR", "SIR", "SAR", "ISR"])
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    planned = jobs(result.stdout + result.stderr)
    assert planned["evaluate"] == 4 and not (EVAL_JOBS - {"evaluate"}) & set(planned), planned
