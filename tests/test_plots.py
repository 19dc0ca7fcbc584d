import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from umxmr.plots import _draw_boxplot, sdr_boxplot

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
        for word in ("SDR", "dB", "vocals", "umx-mr", "n = 3 tracks"):
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
    assert labels == ["vocals\nn = 3 tracks", "drums\nn = 3 tracks", "bass\nn = 3 / 2 tracks",
                      "other\nn = 3 tracks", "accompaniment\nn = 3 tracks"]
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


def test_training_curves_one_panel_per_target(tmp_path):
    from umxmr.plots import _draw_training_curves, training_curves

    summaries = {
        target: {"train_loss_history": [3.0, 2.0, 1.5], "valid_loss_history": [3.5, 2.5, 2.6], "best_epoch": 2}
        for target in TARGETS
    }
    fig = _draw_training_curves(summaries, title="umx-mr-0")
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["vocals", "drums", "bass", "other"]
    labels = [line.get_label() for line in axes[0].get_lines()]
    assert labels == ["train", "valid", "best (epoch 2)"]
    assert list(axes[0].get_lines()[1].get_ydata()) == [3.5, 2.5, 2.6]
    out = tmp_path / "curves.pdf"
    training_curves(summaries, out)
    assert out.read_bytes().startswith(b"%PDF") and pdf_pages(out) == 1
    summaries["bass"]["seed_best_losses"] = {"1": 2.5, "2": 2.7}
    titles = [ax.get_title() for ax in _draw_training_curves(summaries).get_axes()]
    assert titles[2] == "bass\nbest of 2 seeds: 2.5 .. 2.7"
    with pytest.raises(ValueError, match="no training summaries"):
        training_curves({}, tmp_path / "none.pdf")
