"""Any subset of the four targets gives a complete study: a single target is scored with its
complement as museval.eval_mus_track scores vocals with accompaniment; two or three are
scored jointly, and the summary says what that means; a study that cannot be scored is
refused when the config is checked, naming the key."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import yaml
from dataset_trees import musdb_tree
from workflow_helpers import ROOT

from umxmr.config_check import config_errors
from umxmr.evaluation.evaluate import evaluate_track_dirs
from umxmr.target_sets import target_set

SCHEMA = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())


@pytest.fixture(scope="module")
def test_track(tmp_path_factory):
    root = musdb_tree(tmp_path_factory.mktemp("musdb") / "musdb18hq", n_train=1, n_valid=1, n_test=1, seconds=2.5)
    return root, root / "test" / "Test Artist - Song 0"


def _estimates(folder, out, names, sums):
    """Noisy estimates of each scored source (a sum of stems for the complement)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    estimates = {}
    for name in names:
        ref = sum(sf.read(folder / f"{s}.wav", always_2d=True)[0] for s in sums.get(name, [name]))
        estimates[name] = ref + rng.normal(0, 0.05, ref.shape)
        sf.write(out / f"{name}.wav", estimates[name], 44100, subtype="DOUBLE")
    return estimates


def _scores(path):
    return {t["name"]: np.array([f["metrics"]["SDR"] for f in t["frames"]], dtype=float) for t in json.loads(path.read_text())["targets"]}


def test_vocals_alone_is_scored_as_museval_eval_mus_track_with_accompaniment(test_track, tmp_path, one_blas_thread):
    import musdb
    import museval

    root, folder = test_track
    study = target_set(["vocals"])
    assert study.scored == ["vocals", "accompaniment"] and study.sums == {"accompaniment": ["drums", "bass", "other"]}
    estimates = _estimates(folder, tmp_path / "est", study.scored, study.sums)
    ours = tmp_path / "ours.json"
    evaluate_track_dirs(folder, tmp_path / "est", study.scored, ours, folder.name, reference_sums=study.sums)
    track = musdb.DB(root=str(root), is_wav=True, subsets="test").tracks[0]
    theirs = museval.eval_mus_track(track, {k: v.astype(np.float64) for k, v in estimates.items()})
    expected = {t["name"]: np.array([f["metrics"]["SDR"] for f in t["frames"]], dtype=float) for t in theirs.scores["targets"]}
    got = _scores(ours)
    assert sorted(got) == sorted(expected) == ["accompaniment", "vocals"]
    for name, values in expected.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-9)


@pytest.mark.parametrize("target", ["drums", "bass", "other"])
def test_other_single_targets_are_scored_with_their_named_complement(test_track, tmp_path, target, one_blas_thread):
    import museval

    _, folder = test_track
    study = target_set([target])
    complement = f"no_{target}"
    assert study.complement == complement and study.complement != "accompaniment"
    assert sorted(study.complement_stems) == sorted({"vocals", "drums", "bass", "other"} - {target})
    assert " + ".join(study.complement_stems) in study.meaning()
    estimates = _estimates(folder, tmp_path / "est", study.scored, study.sums)
    ours = tmp_path / "ours.json"
    evaluate_track_dirs(folder, tmp_path / "est", study.scored, ours, folder.name, reference_sums=study.sums)
    refs = [sf.read(folder / f"{target}.wav", always_2d=True)[0],
            sum(sf.read(folder / f"{s}.wav", always_2d=True)[0] for s in study.complement_stems)]
    sdr, _, _, _ = museval.evaluate(refs, [estimates[target], estimates[complement]], win=44100, hop=44100)
    got = _scores(ours)
    # museval's JSON keeps 5 decimals
    np.testing.assert_allclose(got[target], sdr[0], rtol=0, atol=5e-6)
    np.testing.assert_allclose(got[complement], sdr[1], rtol=0, atol=5e-6)


def test_two_or_three_targets_are_scored_jointly_and_the_summary_says_so():
    assert target_set(["vocals", "drums", "bass", "other"]).complement is None
    for targets in (["vocals", "bass"], ["drums", "bass", "other"]):
        study = target_set(targets)
        assert study.scored == targets and study.sums == {}
        meaning = study.meaning()
        left_out = [t for t in ("vocals", "drums", "bass", "other") if t not in targets]
        assert "jointly" in meaning and all(t in meaning for t in left_out) and "SAR" in meaning


def _config(targets, residual, override=None):
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["targets"], config["separation"]["residual"] = targets, residual
    if override is not None:
        config["variants"]["umx-mr-0"]["separation"] = {"residual": override}
    return config


def test_a_single_target_without_residual_is_refused_naming_the_key():
    assert config_errors(_config(["vocals"], True), SCHEMA) == []
    assert config_errors(_config(["vocals", "bass"], False), SCHEMA) == []
    errors = config_errors(_config(["drums"], False), SCHEMA)
    assert errors == [
        (
            "separation.residual: false, but targets: [drums] is scored with its complement no_drums, whose "
            "estimate is the separation's residual; set separation.residual: true"
        )
    ]
    errors = config_errors(_config(["vocals"], True, override=False), SCHEMA)
    assert len(errors) == 1 and errors[0].startswith("variants.umx-mr-0.separation.residual: false") and "accompaniment" in errors[0]


def test_a_vocals_only_study_runs_to_its_summary_and_plots(tmp_path):
    """The whole tiny workflow with targets: [vocals]: the residual becomes accompaniment.wav,
    the oracle row and the plots follow, the summary says what the scores are."""
    from workflow_helpers import snakemake, workdir_with_config

    config = _config(["vocals"], True)
    del config["periphery"], config["demo"]["periphery"], config["variants"]["umx-mr-6"]
    config["demo"]["tracks"]["test"] = 1
    workdir = workdir_with_config(tmp_path, config)
    result = snakemake(workdir, "results/summary.md", "results/boxplot.pdf")
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    track = "demo-test-01"
    for variant in ("umx-mr-0", "oracle-phasemix"):
        assert sorted(p.name for p in (workdir / "results" / variant / "estimates" / track).glob("*.wav")) == [
            "accompaniment.wav", "vocals.wav"]
    accompaniment, _ = sf.read(workdir / "results/umx-mr-0/estimates" / track / "accompaniment.wav", always_2d=True)
    assert np.abs(accompaniment).max() > 0.01  # the residual, not silence
    scores = (workdir / "results" / "scores.csv").read_text()
    assert "accompaniment" in scores and "oracle" in scores.lower()
    summary = (workdir / "results" / "summary.md").read_text()
    assert "Single-target study: vocals is scored together with accompaniment (= drums + bass + other;" in summary
    assert (workdir / "results" / "boxplot.pdf").stat().st_size > 0
