import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.aggregate import load_track_scores, summarize

# inputs are results/{variant}/museval/{track}.json
paths = {v: [Path(p) for p in snakemake.input if Path(p).parts[-3] == v] for v in snakemake.params.variants}
scores = load_track_scores(paths)
scores.to_csv(snakemake.output.scores, index=False)
summarize(scores).to_csv(snakemake.output.summary, index=False)
