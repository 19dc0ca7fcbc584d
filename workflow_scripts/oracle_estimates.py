import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import torch

from umxmr.oracle.estimates import phase_mix_track_files
from umxmr.provenance import provenance

torch.set_num_threads(snakemake.threads)
phase_mix_track_files(
    track=snakemake.wildcards.track,
    manifest=Path(snakemake.input.manifest),
    targets=snakemake.params.targets,
    outputs=[Path(p) for p in snakemake.output.estimates],
    provenance_out=Path(snakemake.output.provenance),
    run=provenance(snakemake.config, Path(snakemake.scriptdir).parent),
    sums=snakemake.params.sums,
    sample_format=snakemake.params.sample_format,
    slicq=getattr(snakemake.params, "slicq", None),  # the sliCQ oracle's variant settings
)
