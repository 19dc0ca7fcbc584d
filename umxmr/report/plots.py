"""Box plots of per-track BSSEval scores (sigsep style).

Figures are drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas: no
pyplot, no global backend switch, no global seaborn theme (styles are applied
inside context managers only).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from umxmr.atomic import atomic_path
from umxmr.targets import target_order

__all__ = ["sdr_boxplot", "training_curves", "seed_spread", "load_model_summaries", "oracle_sdr_plot"]

def _variant_order(column: pd.Series) -> list[str]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = set(column.dropna())
        return [v for v in column.cat.categories if v in present]
    return list(pd.unique(column.dropna()))


def _palette(variants: list[str]) -> dict[str, tuple]:
    """colorblind colours for the variants; the phase-mix oracle in light grey."""
    import seaborn as sns

    models = [v for v in variants if not v.startswith("oracle")]
    colours = dict(zip(models, sns.color_palette("colorblind", len(models))))
    return {v: colours.get(v, (0.8, 0.8, 0.8)) for v in variants}


@contextlib.contextmanager
def _plot_style():
    """sigsep-like style (seaborn whitegrid), TrueType fonts in PDF, text in SVG; local to the block.

    Ticks and grid lines are created lazily at draw time, so saving must happen
    inside this block too."""
    import matplotlib as mpl
    import seaborn as sns

    with sns.axes_style("whitegrid"), mpl.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}):
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

    targets = target_order(data["target"])
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
        # short second line: long ones ran into the neighbours' labels
        count = f"n = {n[0]}" if len(set(n)) == 1 else "n = " + "/".join(map(str, n))
        labels.append(f"{target}\n{count}")

    width = max(5.0, 1.5 + len(targets) * max(1.3, 0.5 + 0.45 * len(variants)))
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
                palette=_palette([str(v) for v in variants]),
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
        ax.set_xlabel("n = tracks per box", fontsize="small", color="0.4")
        ax.set_ylabel(f"{metric} [dB]")
        ax.set_title(f"{metric} per target (BSSEval v4, median over frames per track)")
        sns.despine(ax=ax, left=True, bottom=True)
        legend = ax.get_legend()
        if legend is not None:
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), title="variant",
                            frameon=False)
    return fig


def _save(fig, path: Path) -> None:
    """Atomically, in the format of the suffix, without a creation date (reproducible files)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    metadata = {"CreationDate": None, "Creator": "umxmr"} if fmt == "pdf" else {"Date": None}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, bbox_inches="tight", pad_inches=0.15, metadata=metadata)


def sdr_boxplot(scores: pd.DataFrame, out_pdf: Path, metric: str = "SDR") -> None:
    """Box plot of per-track ``metric`` scores: x = target, hue = variant.

    ``scores`` is the long frame of :func:`umxmr.evaluation.aggregate.load_track_scores`
    (columns variant, target, track, metric, score); NaN scores are left out and
    the number of tracks per box is printed under each target. A variant whose name
    starts with "oracle" (the phase-mix oracle) is drawn in grey. Targets are in
    the order vocals, drums, bass, other, then the rest alphabetically; variants
    in categorical order (or order of first appearance). Writes a one-page PDF (or SVG,
    PNG: by the suffix) atomically.
    """
    with _plot_style():
        _save(_draw_boxplot(scores, metric), out_pdf)


def load_model_summaries(paths: list[Path]) -> dict[str, dict[str, dict]]:
    """variant -> target -> summary JSON, from paths `results/{variant}/{target}.json`."""
    summaries: dict[str, dict[str, dict]] = {}
    for path in map(Path, paths):
        summaries.setdefault(path.parent.name, {})[path.stem] = json.loads(path.read_text())
    return summaries


def loss_domain(summary: dict) -> str:
    """What a model's loss is measured on, from its JSON's ``args``: the magnitude of one STFT
    (n_fft/hop; umx-mr-4 predicts its base STFT) or the NSGT (umx-mr-7). Losses of different
    domains are not on one scale."""
    args = summary.get("args")
    if not args:
        return "unknown"
    if args["model"].get("architecture") == "nsgt":
        nsgt = args["model"].get("nsgt", {})
        return f"NSGT {nsgt.get('bins_per_octave')}/oct"
    return f"STFT {args['stft']['n_fft']}/{args['stft']['hop']}"


def training_curves(histories: dict[str, dict[str, dict]], out: Path) -> None:
    """Training and validation loss per epoch: one panel per target, one colour per variant.

    ``histories``: variant -> target -> the model summary JSON (open-unmix's keys
    ``train_loss_history``, ``valid_loss_history``, ``best_epoch``; ``args`` for the domain).
    When the plotted models' losses are on different domains (:func:`loss_domain`: another
    STFT, the NSGT), every curve is drawn relative to its own first epoch (loss / loss at epoch
    1), and the legend names each model's domain; otherwise the MSE itself. Models trained with
    ``train.valid_sdr`` add a second row of panels: their ``valid_sdr_history`` (dB, the epochs
    where it was computed) on its own axis, :data:`VALID_SDR_LABEL`."""
    with _plot_style():
        _save(_draw_training_curves(histories), out)


def _draw_training_curves(histories: dict[str, dict[str, dict]]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    variants = list(histories)
    targets = target_order({t for v in variants for t in histories[v]})
    if not targets:
        raise ValueError("no training histories to plot")
    colours = _palette(variants)
    domains = {loss_domain(summary) for v in variants for summary in histories[v].values()}
    relative = len(domains) > 1
    with_sdr = any(summary.get("valid_sdr_history") for v in variants for summary in histories[v].values())
    with _plot_style():
        rows = 2 if with_sdr else 1
        fig = Figure(figsize=(3.2 * len(targets) + 1.5, 3.2 * rows), layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.subplots(rows, len(targets), squeeze=False, sharex="col")  # epochs line up
        axes = grid[0]
        for ax, target in zip(axes, targets):
            for variant in variants:
                summary = histories[variant].get(target)
                if summary is None:
                    continue
                for key, style, kind in (("train_loss_history", "--", "train"), ("valid_loss_history", "-", "valid")):
                    loss = np.asarray(summary[key], dtype=float)
                    label = f"{variant} ({kind})"
                    if relative and len(loss):
                        loss = loss / loss[0]
                        label = f"{variant} ({kind}, {loss_domain(summary)})"
                    ax.plot(range(1, len(loss) + 1), loss, style, color=colours[variant], label=label)
            ax.set_title(target)
            if not with_sdr:  # else the SDR row below says it
                ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0].set_ylabel("loss / its epoch-1 loss (domains differ)" if relative else "MSE loss")
        if with_sdr:
            _draw_valid_sdr(grid[1], targets, histories, colours)
        entries = {}  # one legend for all panels: a variant may lack some targets
        for ax in grid.flat:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                entries.setdefault(label, handle)
        fig.legend(entries.values(), entries.keys(), loc="outside right upper", frameon=False, fontsize="small")
        return fig


VALID_SDR_LABEL = "validation SDR (dB, museval framing, no Wiener)"


def _draw_valid_sdr(axes, targets: list[str], histories: dict[str, dict[str, dict]], colours: dict) -> None:
    """The validation SDR per epoch (``valid_sdr_history``: null where not computed), a panel per target."""
    from matplotlib.ticker import MaxNLocator

    for ax, target in zip(axes, targets):
        for variant, summaries in histories.items():
            sdr = (summaries.get(target) or {}).get("valid_sdr_history") or []
            points = [(epoch, value) for epoch, value in enumerate(sdr, start=1) if value is not None]
            if points:
                epochs, values = zip(*points)
                ax.plot(epochs, values, "-o", markersize=3, color=colours[variant], label=f"{variant} (valid SDR)")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel(VALID_SDR_LABEL, fontsize="small")


def _draw_seed_spread(summaries: dict[str, dict[str, dict]]):
    import seaborn as sns
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [
        {"variant": variant, "target": target, "seed": seed, "loss": loss, "selected": seed == str(summary["selected_seed"])}
        for variant, targets in summaries.items()
        for target, summary in targets.items()
        for seed, loss in summary["seed_best_losses"].items()
    ]
    if not rows:
        raise ValueError("no trained models to plot")
    frame = pd.DataFrame(rows)
    variants = list(summaries)
    targets = target_order(frame["target"])
    colours = _palette(variants)
    fig = Figure(figsize=(max(3.2, 0.9 * len(variants) + 1.2) * len(targets), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(targets), squeeze=False)[0]
    for ax, target in zip(axes, targets):
        part = frame[frame["target"] == target]
        sns.stripplot(data=part, x="variant", y="loss", hue="variant", order=variants, palette=colours, jitter=0.12, size=6, legend=False, ax=ax)
        chosen = part[part["selected"]]
        ax.scatter([variants.index(v) for v in chosen["variant"]], chosen["loss"], s=160, facecolors="none", edgecolors="black", linewidths=1.2, label="selected seed")
        seeds = part.groupby("variant")["seed"].count()
        ax.set_title(f"{target} (seeds per model: {', '.join(map(str, sorted(set(seeds))))})")
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_xlim(-0.5, len(variants) - 0.5)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0].set_ylabel("best validation loss (MSE)")
    fig.legend(*axes[-1].get_legend_handles_labels(), loc="outside right upper", frameon=False, fontsize="small")
    return fig


def seed_spread(summaries: dict[str, dict[str, dict]], out: Path) -> None:
    """Best validation loss of every seed, one panel per target, the selected seed ringed.

    How much a variant's result owes to its seed (the published umxhq weights were the best
    of 4 seeds per target: open-unmix-pytorch docs/training.md). ``summaries``: variant -> target -> the selected model's JSON
    (``seed_best_losses``, ``selected_seed``)."""
    with _plot_style():
        _save(_draw_seed_spread(summaries), out)


def oracle_sdr_plot(
    searches: dict[str, pd.DataFrame], best: dict, out_pdf: Path, notes: dict[str, dict[str, tuple[int, float]]] | None = None
) -> None:
    """Phase-mix oracle SDR against STFT window, one panel per target and one for the total.

    Points: every evaluated window of every search (colour = search). Marked: the chosen
    per-target window (star), the single best window (dashed) and the controls (dotted).
    ``notes`` (e.g. :data:`umxmr.report.published.NOTES_ORACLE`: row → {panel: (window, SDR)})
    are drawn as hollow black diamonds, labelled as the notes' MUSDB18-HQ validation figures.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    targets = target_order(best["per_target"])
    panels = targets + ["total"]
    with _plot_style():
        fig = Figure(figsize=(3.2 * len(panels), 3.4), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(panels), sharex=True)
        for ax, panel in zip(np.atleast_1d(axes), panels):
            for name, table in searches.items():
                ax.plot(table["window"], table[panel], marker="o", markersize=2.5, linestyle="none", label=f"search {name}")
            ax.axvline(best["single"]["window"], color="black", linestyle="--", linewidth=0.9, label=f"single best {best['single']['window']}")
            for kind, style in (("single", "tab:gray"), ("per_target", "tab:red")):
                window = best["controls"][kind]["window"]
                ax.axvline(window, color=style, linestyle=":", linewidth=1.2, label=f"control {kind} {window}")
            points = [values[panel] for values in (notes or {}).values() if panel in values]
            if points:
                ax.plot([w for w, _ in points], [v for _, v in points], marker="D", markersize=5, markerfacecolor="none",
                        markeredgecolor="black", linestyle="none", label="notes (MUSDB18-HQ, 14 valid tracks)")
            if panel in best["per_target"]:
                chosen = best["per_target"][panel]
                ax.plot(chosen["window"], chosen["sdr"], marker="*", markersize=11, color="gold", markeredgecolor="black",
                        linestyle="none", label="chosen per target")
                ax.set_title(f"{panel}: best {chosen['window']}")
            else:
                ax.set_title(f"total: best {best['single']['window']}")
            ax.set_xlabel("STFT window [samples], overlap window//4")
        np.atleast_1d(axes)[0].set_ylabel("phase-mix oracle global SDR [dB]")
        handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False, fontsize="small")
        _save(fig, out_pdf)
