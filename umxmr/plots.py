"""Box plots of per-track BSSEval scores (sigsep style).

Figures are drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas: no
pyplot, no global backend switch, no global seaborn theme (styles are applied
inside context managers only).
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from umxmr.atomic import atomic_path

__all__ = ["sdr_boxplot", "training_curves", "TARGET_ORDER"]

TARGET_ORDER = ("vocals", "drums", "bass", "other")


def _target_order(targets) -> list[str]:
    present = set(targets)
    known = [t for t in TARGET_ORDER if t in present]
    return known + sorted(t for t in present if t not in TARGET_ORDER)


def _variant_order(column: pd.Series) -> list[str]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = set(column.dropna())
        return [v for v in column.cat.categories if v in present]
    return list(pd.unique(column.dropna()))


@contextlib.contextmanager
def _plot_style():
    """sigsep-like style (seaborn whitegrid), TrueType fonts in PDF; local to the block.

    Ticks and grid lines are created lazily at draw time, so saving must happen
    inside this block too."""
    import matplotlib as mpl
    import seaborn as sns

    with sns.axes_style("whitegrid"), mpl.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42}):
        yield


def _draw_boxplot(scores: pd.DataFrame, metric: str = "SDR"):
    """Build the figure (returned, not saved) for :func:`sdr_boxplot`."""
    import seaborn as sns
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    missing = {"variant", "target", "metric", "score"} - set(scores.columns)
    if missing:
        raise ValueError(f"scores lack columns {sorted(missing)}")
    data = scores.loc[scores["metric"] == metric, ["variant", "target", "score"]]
    data = data[np.isfinite(data["score"].astype(np.float64))]
    if data.empty:
        available = sorted(scores["metric"].dropna().unique())
        raise ValueError(f"no finite {metric} scores to plot (metrics present: {available})")

    targets = _target_order(data["target"])
    variants = _variant_order(data["variant"])
    data = pd.DataFrame({
        "variant": pd.Categorical(data["variant"].astype(str), categories=[str(v) for v in variants]),
        "target": pd.Categorical(data["target"].astype(str), categories=targets),
        "score": data["score"].astype(np.float64).to_numpy(),
    })

    counts = data.groupby(["target", "variant"], observed=False)["score"].count()
    labels = []
    for target in targets:
        n = [int(counts.loc[(target, str(v))]) for v in variants]
        if len(set(n)) == 1:
            count = f"n = {n[0]} track{'s' if n[0] != 1 else ''}"
        else:
            count = "n = " + " / ".join(map(str, n)) + " tracks"
        labels.append(f"{target}\n{count}")

    width = max(5.0, 1.5 + len(targets) * (0.5 + 0.45 * len(variants)))
    with _plot_style():
        fig = Figure(figsize=(width, 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        with warnings.catch_warnings():
            # seaborn 0.13.2 passes ax.bxp(vert=...), deprecated since matplotlib 3.11
            warnings.filterwarnings("ignore", message=r"vert: bool was deprecated",
                                    category=DeprecationWarning)
            sns.boxplot(
                data=data, x="target", y="score", hue="variant",
                order=targets, hue_order=[str(v) for v in variants],
                palette=sns.color_palette("colorblind", len(variants)),
                width=0.8, gap=0.1, linewidth=1.0, fliersize=2.5,
                medianprops={"color": "black", "linewidth": 1.5},
                ax=ax,
            )
        # median markers on top of each box's median line
        for container in ax.containers:
            for line in getattr(container, "medians", []):
                x, y = line.get_xdata(), line.get_ydata()
                ax.plot(np.mean(x), y[0], marker="D", markersize=4.5, color="white",
                        markeredgecolor="black", markeredgewidth=0.8, zorder=10,
                        linestyle="none")
        ax.set_xticks(range(len(targets)), labels)
        ax.set_xlabel("")
        ax.set_ylabel(f"{metric} [dB]")
        ax.set_title(f"{metric} per target (BSSEval v4, median over frames per track)")
        sns.despine(ax=ax, left=True, bottom=True)
        legend = ax.get_legend()
        if legend is not None:
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), title="variant",
                            frameon=False)
    return fig


def _save_pdf(fig, out_pdf: Path) -> None:
    """One-page PDF, written atomically, without a creation date (reproducible bytes)."""
    with atomic_path(Path(out_pdf)) as tmp:
        fig.savefig(
            tmp,
            format="pdf",
            bbox_inches="tight",
            pad_inches=0.15,
            metadata={"CreationDate": None, "Creator": "umxmr"},
        )


def _draw_training_curves(summaries: dict[str, dict], title: str = ""):
    """Build the figure (returned, not saved) for :func:`training_curves`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not summaries:
        raise ValueError("no training summaries to plot")
    targets = _target_order(summaries)
    fig = Figure(figsize=(3.2 * len(targets), 3.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(targets), squeeze=False)[0]
    for ax, target in zip(axes, targets):
        summary = summaries[target]
        for key, label in (("train_loss_history", "train"), ("valid_loss_history", "valid")):
            losses = summary[key]
            ax.plot(range(1, len(losses) + 1), losses, label=label, marker="." if len(losses) < 30 else None)
        best = summary.get("best_epoch")
        if best:
            ax.axvline(best, color="grey", linestyle=":", linewidth=1.0, label=f"best (epoch {best})")
        seeds = summary.get("seed_best_losses", {})
        spread = ""
        if len(seeds) > 1:  # the spread across seeds, min .. max of their best validation loss
            spread = f"\nbest of {len(seeds)} seeds: {min(seeds.values()):.4g} .. {max(seeds.values()):.4g}"
        ax.set_title(f"{target}{spread}")
        ax.set_xlabel("epoch")
        if all(v > 0 for v in summary["train_loss_history"] + summary["valid_loss_history"]):
            ax.set_yscale("log")
        ax.legend(frameon=False, fontsize="small")
    axes[0].set_ylabel("MSE of magnitudes")
    if title:
        fig.suptitle(title)
    return fig


def training_curves(summaries: dict[str, dict], out_pdf: Path, title: str = "") -> None:
    """Train and validation loss per epoch, one panel per target, from the models' JSONs.

    ``summaries`` maps a target to its ``<target>.json`` content (open-unmix's keys
    ``train_loss_history``, ``valid_loss_history``, ``best_epoch``).
    """
    with _plot_style():
        _save_pdf(_draw_training_curves(summaries, title), out_pdf)


def sdr_boxplot(scores: pd.DataFrame, out_pdf: Path, metric: str = "SDR") -> None:
    """Box plot of per-track ``metric`` scores: x = target, hue = variant.

    ``scores`` is the long frame of :func:`umxmr.aggregate.load_track_scores`
    (columns variant, target, track, metric, score); NaN scores are left out and
    the number of tracks per box is printed under each target. Targets are in
    the order vocals, drums, bass, other, then the rest alphabetically; variants
    in categorical order (or order of first appearance). Writes a one-page PDF
    atomically.
    """
    with _plot_style():
        _save_pdf(_draw_boxplot(scores, metric), out_pdf)
