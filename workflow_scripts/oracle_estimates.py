import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

import torch

from umxmr.atomic import write_text
from umxmr.oracle_estimates import ORACLE_SEPARATION, phase_mix_track_files
from umxmr.provenance import provenance, separation_provenance

torch.set_num_threads(snakemake.threads)
phase_mix_track_files(
    track=snakemake.wildcards.track,
    manifest=Path(snakemake.input.manifest),
    targets=snakemake.params.targets,
    outputs=[Path(p) for p in snakemake.output.estimates],
)
record = separation_provenance(provenance(snakemake.config, Path(snakemake.scriptdir).parent), "cpu", ORACLE_SEPARATION, {})
write_text(Path(snakemake.output.provenance), json.dumps(record, indent=2, sort_keys=True) + "\n")
