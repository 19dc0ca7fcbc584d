import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.atomic import write_text
from umxmr.report.config_page import config_html

write_text(Path(snakemake.output[0]), config_html(snakemake.params.config, snakemake.params.variants))
