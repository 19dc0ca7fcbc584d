import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from threadpoolctl import threadpool_limits

from umxmr.data.layout import load_manifest
from umxmr.evaluation.evaluate import evaluate_track_dirs
from umxmr.provenance import with_current_versions

# one BLAS thread per process, `threads` processes: free BLAS threads under parallel
# jobs made museval ~30x slower on a shared machine
threadpool_limits(1)
track = snakemake.wildcards.track
tracks = {t.name: t for t in load_manifest(Path(snakemake.input.manifest))["test"]}
evaluate_track_dirs(
    reference_dir=Path(tracks[track].folder),
    estimate_dir=Path(snakemake.input.estimates[0]).parent,
    targets=snakemake.params.targets,
    out_json=Path(snakemake.output[0]),
    track_name=track,
    win=snakemake.params.win,
    hop=snakemake.params.hop,
    reference_files=tracks[track].files,
    workers=snakemake.threads,
    reference_sums=snakemake.params.sums,
    provenance=with_current_versions(json.loads(Path(snakemake.input.provenance).read_text())),
)
