import json
import math

import numpy as np
import pandas as pd
import pytest

from umxmr.evaluation.aggregate import load_track_scores, summarize
from umxmr.evaluation.evaluate import evaluate_track
from umxmr.evaluation.museval_import import import_museval

RATE = 44100
N = int(1.5 * RATE)  # 3 frames of 0.5 s
HALF = RATE // 2
VARIANTS = {"umx": 0.5, "umx-mr": 0.3}  # variant -> relative noise level of estimates


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def track_audio(name, rng):
    refs = {t: 0.1 * rng.standard_normal((N, 2)) for t in ("vocals", "drums")}
    if name == "A":  # drums silent in the last frame -> that frame is NaN
        refs["drums"][2 * HALF:] = 0
    if name == "B":  # some source silent in every frame -> all frames NaN
        refs["vocals"][:HALF] = 0
        refs["drums"][HALF:] = 0
    return refs


@pytest.fixture(scope="module")
def eval_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evals")
    paths = {}
    for v_idx, (variant, noise) in enumerate(VARIANTS.items()):
        paths[variant] = []
        for t_idx, name in enumerate(["A", "B", "C"]):
            rng = np.random.default_rng(10 * v_idx + t_idx)
            refs = track_audio(name, np.random.default_rng(t_idx))
            ests = {t: r + noise * 0.1 * rng.standard_normal(r.shape) for t, r in refs.items()}
            store = evaluate_track(refs, ests, name, RATE, win=0.5, hop=0.5)
            path = root / variant / "test" / f"{name}.json"  # museval's layout
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(store.json)
            paths[variant].append(path)
    return root, paths


def test_fixture_has_nan_frames(eval_dirs):
    _, paths = eval_dirs
    frames = lambda p: [f["metrics"]["SDR"] for f in json.loads(p.read_text())["targets"][0]["frames"]]
    a, b, c = (frames(p) for p in paths["umx"])
    assert math.isnan(a[2]) and not any(map(math.isnan, a[:2]))
    assert all(map(math.isnan, b))
    assert not any(map(math.isnan, c))


def test_load_track_scores_matches_museval_methodstore(eval_dirs):
    museval = import_museval()
    root, paths = eval_dirs
    ours = load_track_scores(paths)
    assert list(ours.columns) == ["variant", "target", "track", "metric", "score"]
    assert list(ours["variant"].cat.categories) == ["umx", "umx-mr"]
    assert len(ours) == 2 * 3 * 2 * 4

    ms = museval.MethodStore()
    for variant in VARIANTS:
        ms.add_eval_dir(root / variant)
    ref = ms.agg_frames_scores()
    assert len(ref) == len(ours)
    idx = pd.MultiIndex.from_frame(ours[["variant", "track", "target", "metric"]].astype(str))
    np.testing.assert_array_equal(ours["score"].to_numpy(), ref.reindex(idx).to_numpy())
    # the NaN frame of track A is dropped, all-NaN track B gives NaN
    a = ours.query("variant == 'umx' and track == 'A' and target == 'vocals' and metric == 'SDR'")
    assert math.isfinite(a["score"].item())
    assert ours.query("track == 'B'")["score"].isna().all()
    assert ours.query("track != 'B'")["score"].notna().all()

    summary = summarize(ours)
    assert list(summary.columns) == ["variant", "target", "metric", "score", "n_tracks"]
    ref_tracks = ms.agg_frames_tracks_scores()
    assert len(ref_tracks) == len(summary) == 2 * 2 * 4
    idx = pd.MultiIndex.from_frame(summary[["variant", "target", "metric"]].astype(str))
    np.testing.assert_array_equal(summary["score"].to_numpy(), ref_tracks.reindex(idx).to_numpy())
    assert (summary["n_tracks"] == 2).all()  # B is NaN everywhere
    assert summary["score"].notna().all()


def test_single_variant_matches_evalstore(eval_dirs):
    museval = import_museval()
    root, paths = eval_dirs
    es = museval.EvalStore()
    es.add_eval_dir(root / "umx-mr")
    ours = summarize(load_track_scores({"umx-mr": paths["umx-mr"]}))
    ref = es.agg_frames_tracks_scores()
    idx = pd.MultiIndex.from_frame(ours[["target", "metric"]])
    np.testing.assert_array_equal(ours["score"].to_numpy(), ref.reindex(idx).to_numpy())


def test_summarize_median_and_counts_by_hand():
    scores = pd.DataFrame({
        "variant": ["a"] * 4 + ["b"] * 2,
        "target": ["vocals"] * 6,
        "track": ["t1", "t2", "t3", "t4", "t1", "t2"],
        "metric": ["SDR"] * 6,
        "score": [1.0, 2.0, 10.0, np.nan, 3.0, 4.0],
    })
    out = summarize(scores)
    assert out["score"].tolist() == [2.0, 3.5]
    assert out["n_tracks"].tolist() == [3, 2]


def test_duplicate_track_names_and_bad_json(tmp_path, eval_dirs):
    _, paths = eval_dirs
    other = tmp_path / "x" / paths["umx"][0].name
    other.parent.mkdir()
    other.write_text(paths["umx"][0].read_text())
    with pytest.raises(ValueError, match="both give track 'A'"):
        load_track_scores({"umx": [paths["umx"][0], other]})
    bad = tmp_path / "bad.json"
    bad.write_text('{"targets": [{"name": "vocals"}]}')
    with pytest.raises(ValueError, match="bad.json"):
        load_track_scores({"umx": [bad]})


def test_load_provenance_one_row_per_variant_in_order(eval_dirs, tmp_path):
    from umxmr.evaluation.aggregate import load_provenance

    _, paths = eval_dirs
    stamped = []
    for device, path in zip(("cpu", "cuda:0", "cpu"), paths["umx-mr"]):
        data = json.loads(path.read_text())
        data["provenance"] = {"commit": "c3ee1a3", "device": device, "seed": {"vocals": 42, "drums": 42}, "niter": 1, "versions": {"museval": "0.4.1"}}
        stamped.append(tmp_path / path.name)
        stamped[-1].write_text(json.dumps(data))
    table = load_provenance({"umx-mr": stamped, "umx": paths["umx"]})
    assert list(table["variant"]) == ["umx-mr", "umx"]
    mr, plain = table.set_index("variant").loc[["umx-mr", "umx"]].to_dict("records")
    assert mr["commit"] == "c3ee1a3" and mr["seed"] == "42" and mr["niter"] == "1" and mr["museval"] == "0.4.1"
    assert mr["device"] == "cpu | cuda:0"  # tracks separated on different devices say so
    assert set(plain.values()) == {"–"}  # score files without a record


def test_sdr_only_jsons_give_sdr_and_usdr_rows(tmp_path):
    from umxmr.evaluation.aggregate import load_scores
    from umxmr.evaluation.sdr import sdr_track_json

    frames = {"A": [1.0, 3.0, float("nan")], "B": [2.0, 6.0, 4.0], "C": [float("nan")] * 3}
    usdr = {"A": 1.5, "B": 4.5, "C": -3.0}
    paths = []
    for name, values in frames.items():
        path = tmp_path / "sdr" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(sdr_track_json({"vocals": np.array(values)}, {"vocals": usdr[name]}, 1.0, 1.0))
        paths.append(path)
    scores = load_scores({"v": paths}, {"v": paths})
    assert sorted(set(scores["metric"])) == ["SDR", "uSDR"]  # the NaN placeholders are not scores
    summary = summarize(scores).set_index("metric")
    assert summary.loc["SDR", "score"] == np.median([2.0, 4.0])  # per track: A 2, B 4, C NaN
    assert summary.loc["SDR", "n_tracks"] == 2
    assert summary.loc["uSDR", "score"] == pytest.approx(np.mean([1.5, 4.5, -3.0]))  # the mean, not the median
    assert summary.loc["uSDR", "n_tracks"] == 3
