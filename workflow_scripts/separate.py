import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

import torch

from umxmr.atomic import write_text
from umxmr.logs import setup_logging
from umxmr.provenance import provenance, separation_provenance
from umxmr.separate import separate_track_files, wiener_settings

setup_logging()
torch.set_num_threads(snakemake.threads)
device = separate_track_files(
    track=snakemake.wildcards.track,
    manifest=Path(snakemake.input.manifest),
    separator=Path(snakemake.input.separator),
    summaries=[Path(p) for p in snakemake.input.summaries],
    weights=[Path(p) for p in snakemake.input.weights],
    outputs=[Path(p) for p in snakemake.output.estimates],
)
separator = json.loads(Path(snakemake.input.separator).read_text())
models = {t: json.loads(Path(p).read_text()) for t, p in zip(separator["targets"], snakemake.input.summaries)}
run = provenance(snakemake.config, Path(snakemake.scriptdir).parent)
record = separation_provenance(run, device, wiener_settings(separator), models)
write_text(Path(snakemake.output.provenance), json.dumps(record, indent=2, sort_keys=True) + "\n")
