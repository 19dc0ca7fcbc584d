import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.evaluation.aggregate import load_provenance, load_track_scores, summarize

# inputs are results/{variant}/museval/{track}.json; labels: folder -> name in the tables
labels = snakemake.params.labels
paths = {label: [Path(p) for p in snakemake.input if Path(p).parts[-3] == folder] for folder, label in labels.items()}
scores = load_track_scores(paths)
scores.to_csv(snakemake.output.scores, index=False)
# the summary carries each variant's provenance (commit, config hash, device, seeds, Wiener settings, versions)
summarize(scores).merge(load_provenance(paths), on="variant", how="left").to_csv(snakemake.output.summary, index=False)
