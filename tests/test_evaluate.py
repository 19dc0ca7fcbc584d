import json
import math
import os
import sys
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from umxmr import atomic
from umxmr.evaluation import evaluate as ev
from umxmr.evaluation.evaluate import evaluate_track, evaluate_track_dirs
from umxmr.evaluation.museval_import import import_museval

RATE = 44100
METRICS = {"SDR", "SIR", "SAR", "ISR"}


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def make_track(seed, targets, seconds=3.0, channels=2, noise=0.5):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    refs = {t: 0.1 * rng.standard_normal((n, channels)) for t in targets}
    ests = {t: r + noise * 0.1 * rng.standard_normal(r.shape) for t, r in refs.items()}
    return refs, ests


def fake_musdb_track(name, refs):
    """The attributes of a musdb Track that museval.eval_mus_track reads."""
    targets = OrderedDict((t, SimpleNamespace(audio=a)) for t, a in refs.items())
    return SimpleNamespace(name=name, rate=RATE, subset="test", targets=targets)


@pytest.fixture(scope="module")
def museval():
    return import_museval()


@pytest.fixture(scope="module")
def stereo(museval):
    refs, ests = make_track(0, ["vocals", "drums"])
    store = evaluate_track(refs, ests, "song", RATE)
    return refs, ests, store


def test_matches_eval_mus_track_json(stereo, museval):
    refs, ests, store = stereo
    expected = museval.eval_mus_track(fake_musdb_track("song", refs), ests)
    assert isinstance(store, museval.TrackStore)
    assert store.json == expected.json
    # and the numbers are sensible: noise at -6 dB relative to each source
    sdr = [f["metrics"]["SDR"] for f in json.loads(store.json)["targets"][0]["frames"]]
    assert all(5.0 < float(x) < 7.0 for x in sdr)


def test_matches_direct_museval_evaluate_with_win_hop(museval):
    refs, ests = make_track(1, ["drums", "bass"], seconds=2.0)
    store = evaluate_track(refs, ests, "t", RATE, win=1.0, hop=0.5)
    sdr, isr, sir, sar = museval.evaluate(
        [refs["drums"], refs["bass"]], [ests["drums"], ests["bass"]],
        win=RATE, hop=RATE // 2, mode="v4",
    )
    expected = museval.TrackStore(track_name="t", win=1.0, hop=0.5)
    for i, t in enumerate(["drums", "bass"]):
        expected.add_target(t, {"SDR": sdr[i].tolist(), "SIR": sir[i].tolist(),
                                "ISR": isr[i].tolist(), "SAR": sar[i].tolist()})
    assert store.json == expected.json
    times = [f["time"] for f in store.scores["targets"][0]["frames"]]
    assert times == [0.0, 0.5, 1.0]


def test_vocals_accompaniment_handled_like_eval_mus_track(museval):
    # mono keeps this fast; eval_mus_track evaluates voc/acc as a separate pair
    refs, ests = make_track(2, ["vocals", "drums", "bass", "accompaniment"],
                            seconds=1.0, channels=1)
    store = evaluate_track(refs, ests, "va", RATE)
    expected = museval.eval_mus_track(fake_musdb_track("va", refs), ests)
    assert [t["name"] for t in store.scores["targets"]] == ["drums", "bass", "vocals", "accompaniment"]
    assert store.json == expected.json


def _write_dirs(root, refs, ests):
    """`root/ref` and `root/est`, one float64 WAV per target (lossless)."""
    for folder, audio in (("ref", refs), ("est", ests)):
        (root / folder).mkdir()
        for t, a in audio.items():
            sf.write(root / folder / f"{t}.wav", a, RATE, subtype="DOUBLE")


def test_json_structure_and_dirs_roundtrip(stereo, museval, tmp_path):
    refs, ests, store = stereo
    _write_dirs(tmp_path, refs, ests)
    out = tmp_path / "scores" / "song.json"
    evaluate_track_dirs(tmp_path / "ref", tmp_path / "est", ["vocals", "drums"], out, "song")
    text = out.read_text()
    assert text == store.json  # float64 wav round trip is lossless
    data = json.loads(text)
    check = museval.TrackStore("song")
    check.scores = data
    check.validate()  # museval's JSON schema
    assert [t["name"] for t in data["targets"]] == ["vocals", "drums"]
    for target in data["targets"]:
        assert [f["time"] for f in target["frames"]] == [0, 1, 2]
        for frame in target["frames"]:
            assert frame["duration"] == 1.0
            assert set(frame["metrics"]) == METRICS
            assert all(math.isfinite(v) for v in frame["metrics"].values())
    assert sorted(p.name for p in out.parent.iterdir()) == ["song.json"]  # no temp left
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def write_dirs(tmp_path, refs, ests, rate=RATE, est_rate=None, subtype="FLOAT"):
    for folder, audio, r in (("ref", refs, rate), ("est", ests, est_rate or rate)):
        (tmp_path / folder).mkdir(exist_ok=True)
        for t, a in audio.items():
            sf.write(tmp_path / folder / f"{t}.wav", a, r, subtype=subtype)
    return tmp_path / "ref", tmp_path / "est"


def test_shape_mismatch_names_files_and_writes_nothing(tmp_path):
    refs, ests = make_track(3, ["vocals", "drums"], seconds=0.5)
    ests["drums"] = ests["drums"][:-100]
    ref_dir, est_dir = write_dirs(tmp_path, refs, ests)
    out = tmp_path / "out" / "x.json"
    with pytest.raises(ValueError) as err:
        evaluate_track_dirs(ref_dir, est_dir, ["vocals", "drums"], out, "x")
    msg = str(err.value)
    assert str(est_dir / "drums.wav") in msg and str(ref_dir / "vocals.wav") in msg
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_rate_mismatch_and_missing_file(tmp_path):
    refs, ests = make_track(4, ["vocals", "drums"], seconds=0.2)
    ref_dir, est_dir = write_dirs(tmp_path, refs, ests, est_rate=22050)
    out = tmp_path / "x.json"
    with pytest.raises(ValueError, match="22050 Hz") as err:
        evaluate_track_dirs(ref_dir, est_dir, ["vocals", "drums"], out, "x")
    assert str(est_dir / "vocals.wav") in str(err.value)
    with pytest.raises(FileNotFoundError, match=r"ref/bass\.wav"):
        evaluate_track_dirs(ref_dir, est_dir, ["bass", "vocals"], out, "x")
    assert not out.exists()


def test_existing_json_untouched_on_error(tmp_path):
    refs, ests = make_track(5, ["vocals", "drums"], seconds=0.5)
    refs["drums"][:] = 0.0
    ref_dir, est_dir = write_dirs(tmp_path, refs, ests)
    out = tmp_path / "x.json"
    out.write_text("old")
    with pytest.raises(ValueError, match="'x'.*reference of target 'drums' is silent"):
        evaluate_track_dirs(ref_dir, est_dir, ["vocals", "drums"], out, "x")
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["est", "ref", "x.json"]


def test_failed_replace_leaves_no_file(stereo, tmp_path, monkeypatch):
    refs, ests, store = stereo
    ref_dir, est_dir = write_dirs(tmp_path, refs, ests, subtype="PCM_16")
    monkeypatch.setattr(ev, "evaluate_track", lambda *a, **k: store)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    out = tmp_path / "o" / "x.json"
    with pytest.raises(OSError, match="disk full"):
        evaluate_track_dirs(ref_dir, est_dir, ["vocals", "drums"], out, "x")
    assert list((tmp_path / "o").iterdir()) == []


def test_silent_reference_and_estimate_errors_name_track_and_target():
    refs, ests = make_track(6, ["vocals", "drums", "bass"], seconds=0.2)
    refs["bass"] = np.zeros_like(refs["bass"])
    with pytest.raises(ValueError, match=r"'song7'.*reference of target 'bass' is silent"):
        evaluate_track(refs, ests, "song7", RATE)
    refs, ests = make_track(6, ["vocals", "drums"], seconds=0.2)
    ests["vocals"][:] = 0
    with pytest.raises(ValueError, match=r"'s'.*estimate of target 'vocals' is silent"):
        evaluate_track(refs, ests, "s", RATE)


def test_bad_inputs():
    refs, ests = make_track(7, ["vocals", "drums"], seconds=0.2)
    with pytest.raises(ValueError, match="estimate of target 'drums' has shape"):
        evaluate_track(refs, {**ests, "drums": ests["drums"][:, :1]}, "s", RATE)
    with pytest.raises(ValueError, match="no estimate for target 'drums'"):
        evaluate_track(refs, {"vocals": ests["vocals"]}, "s", RATE)
    with pytest.raises(ValueError, match="at least two targets"):
        evaluate_track({"vocals": refs["vocals"]}, ests, "s", RATE)
    with pytest.raises(ValueError, match="NaN or inf"):
        evaluate_track(refs, {**ests, "vocals": ests["vocals"] * np.nan}, "s", RATE)


def test_missing_ffmpeg_gives_clear_error(tmp_path, monkeypatch):
    # stempeg (imported by museval via musdb) checks for ffmpeg/ffprobe at import
    prefixes = ("museval", "musdb", "stempeg")
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in prefixes}
    monkeypatch.setenv("PATH", str(tmp_path))
    for k in saved:
        del sys.modules[k]
    try:
        with pytest.raises(RuntimeError) as err:
            import_museval()
    finally:
        for k in [k for k in sys.modules if k.split(".")[0] in prefixes]:
            del sys.modules[k]
        sys.modules.update(saved)
    assert str(err.value) == (
        "museval needs ffmpeg and ffprobe on PATH (Debian: apt-get install ffmpeg)"
    )
    assert "ffmpeg or ffprobe could not be found" in str(err.value.__cause__)


# --- numpy >= 2: museval's lstsq fallback ---------------------------------------
#
# museval.metrics._compute_projection_filters solves (G + eps*I) C = D and falls
# back on lstsq in `except np.linalg.linalg.LinAlgError`. solve only raises when
# LU hits an exactly zero pivot. A real input that does it: two targets whose
# references are the same unit impulse at sample 0 with amplitude 2. The FFT of
# an impulse at 0 is exactly constant, so the Gram matrix G is exactly
# [[4I, 4I], [4I, 4I]]; eps (2.2e-16) is below half an ulp of 4 and vanishes,
# hence G + eps*I is exactly singular. (With amplitude <= 1, or the impulse
# elsewhere, or with noise, rounding keeps solve from failing.)


def fallback_case():
    n = RATE
    click = np.zeros((n, 1))
    click[0] = 2.0
    rng = np.random.default_rng(8)
    refs = {"vocals": click, "drums": click.copy()}
    ests = {t: r + 0.1 * rng.standard_normal(r.shape) for t, r in refs.items()}
    return refs, ests


def spy_linalg(monkeypatch):
    calls = {"solve_failed": 0, "lstsq": 0}
    solve, lstsq = np.linalg.solve, np.linalg.lstsq

    def spy_solve(*a, **k):
        try:
            return solve(*a, **k)
        except np.linalg.LinAlgError:
            calls["solve_failed"] += 1
            raise

    def spy_lstsq(*a, **k):
        calls["lstsq"] += 1
        return lstsq(*a, **k)

    monkeypatch.setattr(np.linalg, "solve", spy_solve)
    monkeypatch.setattr(np.linalg, "lstsq", spy_lstsq)
    return calls


def test_numpy2_lstsq_fallback_completes(museval, monkeypatch):
    assert np.linalg.linalg.LinAlgError is np.linalg.LinAlgError
    calls = spy_linalg(monkeypatch)
    refs, ests = fallback_case()
    store = evaluate_track(refs, ests, "click", RATE, win=0.5, hop=0.5)
    # one failing solve for both estimates, then museval's lstsq per estimate
    assert calls["solve_failed"] >= 1 and calls["lstsq"] == 2
    expected = museval.eval_mus_track(fake_musdb_track("click", refs), ests, win=0.5, hop=0.5)
    assert store.json == expected.json
    for target in store.scores["targets"]:
        sdr = [float(f["metrics"]["SDR"]) for f in target["frames"]]
        assert math.isfinite(sdr[0])  # frame holding the click: lstsq filters
        assert math.isnan(sdr[1])  # silent reference frame: museval gives NaN
    store.validate()


def test_fallback_case_needs_the_shim(museval, monkeypatch):
    # without the shim (plain numpy >= 2.4) museval's except clause itself fails
    if np.lib.NumpyVersion(np.__version__) < "2.4.0":
        pytest.skip("numpy.linalg.linalg still exists on this numpy")
    monkeypatch.delattr(np.linalg, "linalg")
    refs, ests = fallback_case()
    with pytest.raises(AttributeError, match="linalg"):
        museval.evaluate([refs["vocals"], refs["drums"]], [ests["vocals"], ests["drums"]],
                         win=RATE, hop=RATE)


def test_provenance_is_stored_beside_the_scores_and_museval_still_reads_them(stereo, museval, tmp_path):
    refs, ests, store = stereo
    _write_dirs(tmp_path, refs, ests)
    out = tmp_path / "song.json"
    record = {"commit": "c3ee1a3", "device": "cpu", "seed": {"vocals": 42, "drums": 42}, "niter": 1}
    evaluate_track_dirs(tmp_path / "ref", tmp_path / "est", ["vocals", "drums"], out, "song", provenance=record)
    data = json.loads(out.read_text())
    assert data["provenance"] == record
    assert data["targets"] == json.loads(store.json)["targets"]  # the scores are untouched
    check = museval.TrackStore("song")
    check.scores = data
    check.validate()
    methods = museval.EvalStore()
    methods.add_track(museval.aggregate.json2df(data, "song"))
    assert set(methods.df["target"]) == {"vocals", "drums"}
