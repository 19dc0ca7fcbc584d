import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from umxmr.atomic import write_text
from umxmr.audio import RATE
from umxmr.separate import separator_config

settings = json.loads(Path(snakemake.input.summaries[0]).read_text())["args"]
config = separator_config(settings, snakemake.params.separation, snakemake.params.targets, RATE)
write_text(Path(snakemake.output[0]), json.dumps(config, indent=4, sort_keys=True))
