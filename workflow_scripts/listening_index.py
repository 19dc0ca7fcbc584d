import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

from umxmr.atomic import write_text
from umxmr.report.listening import listening_index_html

records = [json.loads(Path(path).read_text()) for path in snakemake.input]
write_text(Path(snakemake.output[0]), listening_index_html(records))
