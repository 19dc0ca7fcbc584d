"""The SDR path (umxmr.evaluation.sdr) gives museval.evaluate's SDR: ≤ 1e-9 dB per frame,
the same NaN frames, the same refusals, a JSON museval's readers accept."""

import json
import subprocess
import sys
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from umxmr.evaluation import sdr as sdrmod
from umxmr.evaluation.museval_import import import_museval

# museval's arithmetic knows samples, not seconds: a low rate keeps museval.evaluate (the
# reference) quick while frames, silences and lengths stay those of real tracks
RATE = 8000
TARGETS = ["vocals", "drums", "bass", "other"]
TOL = 1e-9  # dB

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def museval():
    return import_museval()


def real_shaped(seed: int, seconds: float, targets=TARGETS):
    """Stereo targets with silent stretches in references and estimates, estimates of mixed quality."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    refs = {t: 0.1 * rng.standard_normal((n, 2)) * rng.uniform(0.2, 2.0) for t in targets}
    mix = sum(refs.values())
    ests = {t: 0.7 * r + 0.05 * mix + 0.02 * rng.standard_normal(r.shape) for t, r in refs.items()}
    first = targets[0]
    refs[first][int(1.2 * RATE) : int(2.6 * RATE)] = 0.0  # frame 1 (and 2 with hop 0.5 s) silent
    ests[targets[-1]][int(3.0 * RATE) : int(4.1 * RATE)] = 0.0  # an estimate's silent frame
    ests[targets[1]][: RATE // 3, 0] = -ests[targets[1]][: RATE // 3, 1]  # channels cancel: not silent alone
    return refs, ests


def assert_same(ours: np.ndarray, expected: np.ndarray) -> None:
    assert ours.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    finite = ~np.isnan(expected)
    assert np.max(np.abs(ours[finite] - expected[finite]), initial=0.0) <= TOL


def test_four_stereo_targets_with_silence_equal_museval(museval):
    # one museval call: its cost is mostly four (4·2·512)² solves, whatever the length
    refs, ests = real_shaped(0, 5.3)
    win, hop = RATE, RATE // 2
    R, E = [refs[t] for t in TARGETS], [ests[t] for t in TARGETS]
    expected = museval.evaluate(R, E, win=win, hop=hop)[0]
    ours = sdrmod.framewise_sdr(R, E, win, hop)
    assert_same(ours, expected)
    assert np.isnan(expected).any() and np.isfinite(expected).any()  # both kinds of frame exercised
    assert expected.shape[1] == int(np.floor((len(R[0]) - win + hop) / hop))  # last partial frame dropped


def test_track_shorter_than_one_window_and_estimates_of_other_lengths(museval):
    refs, ests = real_shaped(1, 0.6, TARGETS[:3])
    R = [refs[t] for t in TARGETS[:3]]
    E = [ests["vocals"][:-700], ests["drums"][:-700], ests["bass"][:-700]]  # shorter: zero-padded
    expected = museval.evaluate(R, E, win=RATE, hop=RATE)[0]
    assert expected.shape == (3, 1)
    assert_same(sdrmod.framewise_sdr(R, E, RATE, RATE), expected)

    refs, ests = real_shaped(2, 2.4, TARGETS[:2])
    R = [refs[t] for t in TARGETS[:2]]
    rng = np.random.default_rng(3)
    E = [np.concatenate([ests[t], rng.standard_normal((777, 2))]) for t in TARGETS[:2]]  # longer: cut
    assert_same(sdrmod.framewise_sdr(R, E, RATE, RATE), museval.evaluate(R, E, win=RATE, hop=RATE)[0])


def fake_musdb_track(refs):
    """The attributes of a musdb Track that museval.eval_mus_track reads."""
    targets = OrderedDict((t, SimpleNamespace(audio=a)) for t, a in refs.items())
    return SimpleNamespace(name="song", rate=RATE, subset="test", targets=targets)


@pytest.mark.parametrize("targets", [["vocals", "accompaniment"], ["vocals", "bass", "accompaniment"]])
def test_vocals_accompaniment_pass_as_eval_mus_track(museval, targets):
    refs, ests = real_shaped(4, 3.2, targets)
    if "bass" in targets:
        refs["bass"][2 * RATE :] = 0.0  # silent in the joint pass's last frame only
    expected = museval.eval_mus_track(fake_musdb_track(refs), ests)
    ours = sdrmod.track_sdr_scores(refs, ests, RATE, RATE, "song")
    assert list(ours) == targets
    by_name = {t["name"]: t for t in expected.scores["targets"]}
    for target in targets:
        exp = np.array([float(f["metrics"]["SDR"]) for f in by_name[target]["frames"]])
        # museval's JSON holds 5 decimals
        np.testing.assert_array_equal(np.isnan(ours[target]), np.isnan(exp))
        ok = ~np.isnan(exp)
        assert np.max(np.abs(ours[target][ok] - exp[ok])) <= 5e-6 + TOL
    # the pair's own silence mask: the joint pass would mask vocals where "bass" is silent
    if "bass" in targets:
        R = [refs[t] for t in targets[:-1]]
        E = [ests[t] for t in targets[:-1]]
        joint_vocals = sdrmod.framewise_sdr(R, E, RATE, RATE)[0]
        pair_vocals = sdrmod.framewise_sdr([refs["vocals"], refs["accompaniment"]],
                                           [ests["vocals"], ests["accompaniment"]], RATE, RATE)[0]
        np.testing.assert_array_equal(ours["vocals"], pair_vocals)
        assert np.isnan(joint_vocals).sum() > np.isnan(pair_vocals).sum()


def test_zero_error_frame_finite_like_museval(museval):
    rng = np.random.default_rng(5)
    ref = 0.1 * rng.standard_normal((2, 3 * RATE, 2))
    est = ref + 0.01 * rng.standard_normal(ref.shape)
    est[:, RATE : 2 * RATE] = ref[:, RATE : 2 * RATE]  # exact estimate in frame 1
    expected = museval.evaluate(ref, est, win=RATE, hop=RATE)[0]
    ours = sdrmod.framewise_sdr(ref, est, RATE, RATE)
    # museval: rounding residue, a large finite SDR (its JSON keeps it, it is not inf → NaN)
    assert np.all(np.isfinite(expected[:, 1])) and np.all(expected[:, 1] > 300)
    assert np.all(ours[:, 1] == sdrmod.ZERO_ERROR_SDR) and sdrmod.ZERO_ERROR_SDR > 300
    assert_same(ours[:, [0, 2]], expected[:, [0, 2]])
    text = sdrmod.sdr_track_json({"a": ours[0]}, {"a": 1.0}, 1.0, 1.0)
    assert np.isfinite(json.loads(text)["targets"][0]["frames"][1]["metrics"]["SDR"])


@pytest.mark.parametrize("which", ["reference", "estimate"])
def test_silent_source_refused_like_museval(museval, which):
    rng = np.random.default_rng(6)
    ref = 0.1 * rng.standard_normal((2, RATE, 2))
    est = ref + 0.01 * rng.standard_normal(ref.shape)
    (ref if which == "reference" else est)[1] = 0.0
    with pytest.raises(ValueError, match="silent"):
        museval.evaluate(ref, est, win=RATE, hop=RATE)
    with pytest.raises(ValueError, match=f"{which} of source 1 is silent"):
        sdrmod.framewise_sdr(ref, est, RATE, RATE)


def test_global_sdr_by_hand():
    rng = np.random.default_rng(7)
    ref = rng.standard_normal((1000, 2))
    est = ref[:990] + 0.1 * rng.standard_normal((990, 2))  # shorter: zero-padded
    padded = np.vstack([est, np.zeros((10, 2))])
    by_hand = 10 * np.log10((np.sum(ref * ref) + 1e-7) / (np.sum((ref - padded) ** 2) + 1e-7))
    assert sdrmod.global_sdr(ref, est) == pytest.approx(by_hand, abs=1e-12)


def test_json_read_by_museval_readers(tmp_path, museval):
    targets = ["vocals", "drums"]
    refs, ests = real_shaped(8, 3.1, targets)
    for folder, audio in (("ref", refs), ("est", ests)):
        (tmp_path / folder).mkdir()
        for t, a in audio.items():
            sf.write(tmp_path / folder / f"{t}.wav", a, RATE, subtype="FLOAT")
    out = tmp_path / "museval" / "test" / "song.json"
    out.parent.mkdir(parents=True)
    sdrmod.evaluate_track_dirs_sdr(tmp_path / "ref", tmp_path / "est", targets, out, "song",
                                   provenance={"commit": "abc"})
    data = json.loads(out.read_text())
    assert data["metrics"] == ["SDR"] and data["provenance"] == {"commit": "abc"}
    assert set(data["uSDR"]) == set(targets)
    # museval's readers: json2df, TrackStore.add_target (+ schema), EvalStore.add_eval_dir
    df = museval.aggregate.json2df(data, "song")
    assert set(df["metric"]) == {"SDR", "SIR", "SAR", "ISR"}
    assert df[df["metric"] != "SDR"]["score"].isna().all()
    store = museval.TrackStore(track_name="song", win=1.0, hop=1.0)
    for target in data["targets"]:
        values = {m: [f["metrics"][m] for f in target["frames"]] for m in ("SDR", "SIR", "SAR", "ISR")}
        store.add_target(target["name"], values)
    store.validate()
    evalstore = museval.EvalStore()
    evalstore.add_eval_dir(tmp_path / "museval")
    medians = evalstore.agg_frames_tracks_scores()
    # the SDR medians equal museval's own on the same files (read as float64 here, as musdb)
    expected = museval.eval_mus_track(fake_musdb_track(
        {t: sf.read(tmp_path / "ref" / f"{t}.wav", dtype="float64")[0] for t in targets}),
        {t: sf.read(tmp_path / "est" / f"{t}.wav", dtype="float64")[0] for t in targets})
    exp_store = museval.EvalStore()
    exp_store.add_track(expected)
    exp = exp_store.agg_frames_tracks_scores()
    for t in targets:
        assert medians[t, "SDR"] == pytest.approx(exp[t, "SDR"], abs=1e-5)
        assert np.isnan(medians[t, "SIR"])


def test_sdr_path_imports_no_museval():
    code = "import sys, umxmr.evaluation.sdr; print(any(m.split('.')[0] in ('museval', 'musdb', 'scipy', 'torch') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_audio_refused_naming_the_source(bad):
    rng = np.random.default_rng(9)
    ref = 0.1 * rng.standard_normal((2, RATE, 2))
    est = ref + 0.01 * rng.standard_normal(ref.shape)
    est[1, 100, 0] = bad
    with pytest.raises(ValueError, match="estimates: source 1 contains NaN or inf"):
        sdrmod.framewise_sdr(ref, est, RATE, RATE)
