import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from umxmr.models.export import export_openunmix

export_openunmix(
    summaries=[Path(p) for p in snakemake.input.summaries],
    weights=[Path(p) for p in snakemake.input.weights],
    targets=snakemake.params.targets,
    separator=json.loads(Path(snakemake.input.separator).read_text()),
    out_dir=Path(snakemake.output.separator).parent,
)
