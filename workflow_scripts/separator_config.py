import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from umxmr.atomic import write_text
from umxmr.data.audio import RATE
from umxmr.separation.separate import separator_config

target_settings = [json.loads(Path(p).read_text())["args"] for p in snakemake.input.summaries]
config = separator_config(target_settings[0], snakemake.params.separation, snakemake.params.targets, RATE, target_settings)
write_text(Path(snakemake.output[0]), json.dumps(config, indent=4, sort_keys=True))
