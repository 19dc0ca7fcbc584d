import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import torch

from umxmr.logs import setup_logging
from umxmr.provenance import provenance
from umxmr.separation.separate import separate_track_files

setup_logging()
torch.set_num_threads(snakemake.threads)
separate_track_files(
    track=snakemake.wildcards.track,
    manifest=Path(snakemake.input.manifest),
    separator=Path(snakemake.input.separator),
    summaries=[Path(p) for p in snakemake.input.summaries],
    weights=[Path(p) for p in snakemake.input.weights],
    outputs=[Path(p) for p in snakemake.output.estimates],
    provenance_out=Path(snakemake.output.provenance),
    run=provenance(snakemake.config, Path(snakemake.scriptdir).parent),
    complement=snakemake.params.complement,
)
