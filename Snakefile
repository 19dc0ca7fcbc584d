# umx-mr: Open-Unmix and its multi-resolution variants, as a reproducible study.
#
# data/demo/                                    generated demo dataset (dataset.kind: demo)
# data/periphery_raw/                           generated raw Periphery-like songs (demo only; else periphery.raw)
# data/periphery/train/{song}/, conversion.json the Periphery stems in MUSDB layout, and the conversion report
# data/{dataset}.manifest.json                  checked track list per split (dataset.kind, or periphery)
# data/stats/nfft{n_fft}_hop{hop}.npz           input mean/scale per STFT
# results/
# ├── {variant}/seeds/{seed}/{target}.pth/.json one training job per seed (train.seeds)
# ├── {variant}/{target}.pth, {target}.json     the best seed's model and its open-unmix summary
# ├── {variant}/training_curves.pdf             train/valid loss per epoch and target
# ├── {variant}/separator.json                  STFT and Wiener settings of the separator
# ├── {variant}/estimates/{track}/{target}.wav  separated test tracks; provenance.json beside them
# ├── {variant}/sdr/{track}.json                museval's SDR (exact, SDR path) + uSDR per track, museval's format
# ├── {variant}/museval/{track}.json            full BSSEval v4 per track (museval's format) + provenance;
# │                                             only with evaluation.metrics [SDR, SIR, SAR, ISR] (the default)
# ├── oracle-phasemix/estimates, museval/       the phase-mix oracle, evaluated like a variant
# ├── oracle-phasemix-slicq/…                   the sliCQ phase-mix oracle (evaluation.slicq_oracle)
# ├── scores.csv                                per variant, target, track, metric: median over frames
# ├── summary.csv, summary.md                   median over tracks + provenance; tables with published rows
# ├── comparison.csv                            each variant vs the baseline: median ΔSDR, Wilcoxon p
# ├── boxplot.pdf, boxplot_{metric}.pdf         per target, one box per variant (+ oracle)
# ├── report/                                   SVGs and HTML pages of `snakemake --report`
# │   └── listening/{track}.html, listening.html  listening pages (report.listening) and their index
# └── oracle/search_{seed|grid|controls}.csv    phase-mix oracle SDR per STFT window (valid tracks)
#     oracle/best.json, sdr_vs_window.pdf       chosen windows and controls; SDR against window
# resume/{variant}/seeds/{seed}/{target}.chkpnt training state, outside Snakemake's outputs
#
# snakemake --report results/report.html        plots, tables, training curves and the config


from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/separate.smk"
include: "rules/evaluate.smk"
include: "rules/plots.smk"
include: "rules/oracle.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
