import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from umxmr.evaluation.compare import paired_comparison


def scores(n_tracks, shift, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_tracks):
        base = rng.normal(5, 2)
        for variant, value in (("umx-mr-0", base), ("mr", base + shift + rng.normal(0, 0.1))):
            for target in ("vocals", "bass"):
                rows.append((variant, target, f"t{k}", "SDR", value + (target == "bass")))
                rows.append((variant, target, f"t{k}", "SIR", 99.0))
    return pd.DataFrame(rows, columns=["variant", "target", "track", "metric", "score"])


def test_median_delta_and_wilcoxon_p_equal_scipy():
    df = scores(10, 0.5)
    out = paired_comparison(df, "umx-mr-0")
    assert list(out["variant"]) == ["mr", "mr"] and list(out["target"]) == ["vocals", "bass"]
    row = out.iloc[0]
    sdr = df[(df.metric == "SDR") & (df.target == "vocals")].pivot(index="track", columns="variant", values="score")
    delta = sdr["mr"] - sdr["umx-mr-0"]
    assert row.n_tracks == 10 and row.note == ""
    assert row.median_delta == pytest.approx(np.median(delta))
    assert row.wilcoxon_p == pytest.approx(wilcoxon(delta).pvalue)
    assert row.wilcoxon_p < 0.01  # a consistent +0.5 dB on 10 tracks


def test_nan_tracks_are_unpaired():
    df = scores(8, 0.5)
    df.loc[(df.variant == "mr") & (df.track == "t0"), "score"] = np.nan
    out = paired_comparison(df, "umx-mr-0")
    assert set(out["n_tracks"]) == {7}


def test_honest_nan_p_values():
    out = paired_comparison(scores(3, 0.5), "umx-mr-0")
    assert out["wilcoxon_p"].isna().all()
    assert out.iloc[0].note.startswith("3 tracks: too few")
    same = scores(8, 0.0)
    same.loc[same.variant == "mr", "score"] = same.loc[same.variant == "umx-mr-0", "score"].to_numpy()
    out = paired_comparison(same, "umx-mr-0")
    assert out["wilcoxon_p"].isna().all() and set(out["note"]) == {"all differences are zero"}
    assert (out["median_delta"] == 0).all()


def test_unknown_baseline():
    with pytest.raises(ValueError, match="baseline variant 'nope'"):
        paired_comparison(scores(3, 0.0), "nope")
