# umx-mr: Open-Unmix and its multi-resolution variants, as a reproducible study.
#
# data/demo/                                    generated demo dataset (dataset.kind: demo)
# data/{kind}.manifest.json                     checked track list per split
# data/stats/nfft{n_fft}_hop{hop}.npz           input mean/scale per STFT
# results/
# ├── {variant}/seeds/{seed}/{target}.pth/.json one training job per seed (train.seeds)
# ├── {variant}/{target}.pth, {target}.json     the best seed's model and its open-unmix summary
# ├── {variant}/training_curves.pdf             train/valid loss per epoch and target
# ├── {variant}/separator.json                  STFT and Wiener settings of the separator
# ├── {variant}/estimates/{track}/{target}.wav  separated test tracks
# ├── {variant}/museval/{track}.json            BSSEval v4 per track (museval's format)
# ├── scores.csv                                per variant, target, track, metric: median over frames
# ├── summary.csv                               median over tracks
# └── boxplot.pdf                               SDR per target, one box per variant
# resume/{variant}/seeds/{seed}/{target}.chkpnt training state, outside Snakemake's outputs


from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/separate.smk"
include: "rules/evaluate.smk"
include: "rules/plots.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
