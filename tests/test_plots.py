import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from umxmr.report.plots import _draw_boxplot, sdr_boxplot

TARGETS = ["other", "bass", "drums", "vocals"]  # deliberately not the plot order


def make_scores(variants=("umx", "umx-mr"), n_tracks=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        (v, t, f"track{k}", m, 4.0 + i + rng.normal())
        for i, v in enumerate(variants) for t in TARGETS
        for k in range(n_tracks) for m in ("SDR", "SIR")
    ]
    df = pd.DataFrame(rows, columns=["variant", "target", "track", "metric", "score"])
    df["variant"] = pd.Categorical(df["variant"], categories=list(variants))
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)  # row order must not matter


def pdf_pages(path):
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
        return int(re.search(r"^Pages:\s+(\d+)", out.stdout, re.M).group(1))
    counts = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", path.read_bytes())
    return int(counts[0])


def test_pdf_one_page_and_renders(tmp_path):
    out = tmp_path / "plots" / "sdr.pdf"
    sdr_boxplot(make_scores(), out)
    assert out.read_bytes().startswith(b"%PDF")
    assert pdf_pages(out) == 1
    assert [p.name for p in out.parent.iterdir()] == ["sdr.pdf"]  # no temp left
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True,
                              text=True, check=True).stdout
        for word in ("SDR", "dB", "vocals", "umx-mr", "tracks per box"):
            assert word in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(out),
                        str(tmp_path / "sdr")], check=True)
        assert (tmp_path / "sdr.png").stat().st_size > 5000


def test_layout_order_counts_and_legend_outside():
    scores = make_scores(variants=("zeta", "alpha"))  # categorical order, not alphabetical
    scores.loc[(scores.target == "bass") & (scores.variant == "alpha")
               & (scores.track == "track0"), "score"] = np.nan
    extra = scores[scores.target == "drums"].assign(target="accompaniment")
    fig = _draw_boxplot(pd.concat([scores, extra]), "SDR")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["vocals\nn = 3", "drums\nn = 3", "bass\nn = 3/2", "other\nn = 3",
                      "accompaniment\nn = 3"]
    assert "SDR" in ax.get_title() and "dB" in ax.get_ylabel()
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["zeta", "alpha"]
    # 5 targets x 2 variants boxes, each with a median marker
    assert sum(len(c.boxes) for c in ax.containers) == 10
    markers = [l for l in ax.lines if l.get_marker() == "D"]
    assert len(markers) == 10
    medians = sorted(float(l.get_ydata()[0]) for l in markers)
    expected = sorted(scores[scores.metric == "SDR"].groupby(["target", "variant"], observed=True)
                      ["score"].median().tolist()
                      + extra[extra.metric == "SDR"].groupby("variant", observed=True)
                      ["score"].median().tolist())
    np.testing.assert_allclose(medians, expected)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    leg_box = legend.get_window_extent(renderer)
    ax_box = ax.get_window_extent(renderer)
    assert leg_box.x0 >= ax_box.x1  # legend right of the axes, never over boxes


def test_missing_metric_raises_and_writes_nothing(tmp_path):
    out = tmp_path / "x.pdf"
    with pytest.raises(ValueError, match="no finite ISR scores"):
        sdr_boxplot(make_scores(), out, metric="ISR")
    assert list(tmp_path.iterdir()) == []


def test_other_metric(tmp_path):
    fig = _draw_boxplot(make_scores(), "SIR")
    assert fig.axes[0].get_ylabel() == "SIR [dB]"


@pytest.mark.parametrize("variants", [("umx-mr-0",), ("umx-mr-0", "oracle (phase-mix 4096)"),
                                      ("a", "b", "c", "oracle (phase-mix 4096)")])
def test_target_labels_never_touch_and_oracle_is_grey(variants):
    fig = _draw_boxplot(make_scores(variants=variants), "SDR")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    for left, right in zip(boxes, boxes[1:]):
        assert right.x0 - left.x1 > 10  # pixels of space between neighbouring labels
    colours = [tuple(p.get_facecolor()[:3]) for c in ax.containers for p in c.boxes]
    grey = [c for c in colours if c == pytest.approx((0.8, 0.8, 0.8))]
    assert len(grey) == (4 if variants[-1].startswith("oracle") else 0)


def test_training_curves_panels_lines_and_svg(tmp_path):
    from umxmr.report.plots import training_curves

    summary = {"train_loss_history": [3.0, 2.0, 1.5], "valid_loss_history": [3.5, 2.5, 2.0]}
    histories = {"umx-mr-0": {t: summary for t in TARGETS}, "mr": {"vocals": summary}}
    out = tmp_path / "curves.svg"
    training_curves(histories, out)
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for word in ("vocals", "bass", "epoch", "umx-mr-0 (valid)", "mr (train)"):
        assert word in text


def test_training_curves_draw_the_validation_sdr_on_its_own_axis(tmp_path):
    from umxmr.report.plots import VALID_SDR_LABEL, _draw_training_curves, training_curves

    with_sdr = {"train_loss_history": [3.0, 2.0, 1.5, 1.4], "valid_loss_history": [3.5, 2.5, 2.0, 2.1],
                "valid_sdr_history": [None, 1.5, None, 2.25]}
    without = {"train_loss_history": [3.0, 2.0], "valid_loss_history": [3.5, 2.5]}
    histories = {"umx-mr-0": {"vocals": with_sdr, "bass": without}, "mr": {"vocals": without}}
    out = tmp_path / "curves.svg"
    training_curves(histories, out)
    text = out.read_text()
    assert VALID_SDR_LABEL == "validation SDR (dB, museval framing, no Wiener)" and VALID_SDR_LABEL in text
    assert "umx-mr-0 (valid SDR)" in text and "mr (valid SDR)" not in text
    fig = _draw_training_curves(histories)
    loss_vocals, loss_bass, sdr_vocals, sdr_bass = fig.axes
    assert sdr_vocals.get_ylabel() == VALID_SDR_LABEL and loss_vocals.get_ylabel() == "MSE loss"
    (line,) = sdr_vocals.get_lines()  # the epochs where it was computed, nothing else
    assert list(line.get_xdata()) == [2, 4] and list(line.get_ydata()) == [1.5, 2.25]
    assert len(loss_vocals.get_lines()) == 4 and not sdr_bass.get_lines()
    # no model with the SDR: one row of panels, as before
    assert len(_draw_training_curves({"mr": {"vocals": without}}).axes) == 1


def test_seed_spread_draws_every_seed_and_rings_the_selected_one(tmp_path):
    from umxmr.report.plots import seed_spread

    def summary(losses, selected):
        return {"seed_best_losses": losses, "selected_seed": selected}

    summaries = {
        "umx-mr-0": {t: summary({"42": 2.0, "1": 1.5, "7": 2.5}, 1) for t in TARGETS},
        "mr": {"vocals": summary({"42": 1.0}, 42)},
    }
    out = tmp_path / "seeds.svg"
    seed_spread(summaries, out)
    text = out.read_text()
    assert "<svg" in text and "best validation loss" in text and "selected seed" in text
    assert "vocals (seeds per model: 1, 3)" in text and "bass (seeds per model: 3)" in text
    from umxmr.report.plots import _draw_seed_spread

    vocals = _draw_seed_spread(summaries).axes[0]
    points, ring = vocals.collections[0], vocals.collections[-1]
    assert sorted(points.get_offsets()[:, 1]) == [1.5, 2.0, 2.5]  # every seed of umx-mr-0
    assert [tuple(xy) for xy in ring.get_offsets()] == [(0.0, 1.5), (1.0, 1.0)]  # the selected seeds
    with pytest.raises(ValueError, match="no trained models"):
        seed_spread({}, tmp_path / "none.svg")
    assert not (tmp_path / "none.svg").exists()


def test_training_curves_of_different_domains_are_relative_to_their_first_epoch(tmp_path):
    from umxmr.report.plots import training_curves

    def summary(n_fft, train, valid):
        return {"args": {"stft": {"n_fft": n_fft, "hop": n_fft // 4}, "model": {"architecture": "openunmix"}},
                "train_loss_history": train, "valid_loss_history": valid}

    same = {"a": {"vocals": summary(4096, [4.0, 2.0], [5.0, 2.5])}, "b": {"vocals": summary(4096, [3.0, 1.5], [3.0, 1.0])}}
    out = tmp_path / "same.svg"
    training_curves(same, out)
    assert "MSE loss" in out.read_text() and "domains differ" not in out.read_text()
    mixed = {"a": same["a"], "c": {"vocals": summary(8192, [8.0, 6.0], [10.0, 5.0])}}
    out = tmp_path / "mixed.svg"
    training_curves(mixed, out)
    text = out.read_text()
    assert "domains differ" in text and "c (valid, STFT 8192/2048)" in text and "a (train, STFT 4096/1024)" in text
    from umxmr.report.plots import _draw_training_curves

    lines = _draw_training_curves(mixed).axes[0].get_lines()
    assert sorted(tuple(line.get_ydata()) for line in lines) == [(1.0, 0.5), (1.0, 0.5), (1.0, 0.5), (1.0, 0.75)]
