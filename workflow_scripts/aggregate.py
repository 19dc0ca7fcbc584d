import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.evaluation.aggregate import load_provenance, load_scores, summarize

# inputs are results/{variant}/sdr/{track}.json (SDR path: SDR, uSDR) and, with all four
# metrics, results/{variant}/museval/{track}.json; labels: folder -> name in the tables
labels = snakemake.params.labels
full = len(snakemake.params.metrics) == 4


def jsons(kind):
    return {label: [Path(p) for p in snakemake.input if Path(p).parts[-3:-1] == (folder, kind)] for folder, label in labels.items()}


sdr_paths = jsons("sdr")
paths = jsons("museval") if full else sdr_paths
scores = load_scores(paths, sdr_paths)
scores.to_csv(snakemake.output.scores, index=False)
# the summary carries each variant's provenance (commit, config hash, device, seeds, Wiener settings, versions)
summarize(scores).merge(load_provenance(paths), on="variant", how="left").to_csv(snakemake.output.summary, index=False)
