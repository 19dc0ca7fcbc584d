import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from umxmr.data.layout import load_manifest
from umxmr.evaluation.sdr import evaluate_track_dirs_sdr
from umxmr.provenance import with_current_versions

track = snakemake.wildcards.track
tracks = {t.name: t for t in load_manifest(Path(snakemake.input.manifest))["test"]}
evaluate_track_dirs_sdr(
    reference_dir=Path(tracks[track].folder),
    estimate_dir=Path(snakemake.input.estimates[0]).parent,
    targets=snakemake.params.targets,
    out_json=Path(snakemake.output[0]),
    track_name=track,
    win=snakemake.params.win,
    hop=snakemake.params.hop,
    reference_files=tracks[track].files,
    reference_sums=snakemake.params.sums,
    provenance=with_current_versions(json.loads(Path(snakemake.input.provenance).read_text())),
)
