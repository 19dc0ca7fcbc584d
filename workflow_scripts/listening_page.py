import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.data.layout import load_manifest
from umxmr.report.listening import write_listening_page

track = snakemake.wildcards.track
info = {t.name: t for t in load_manifest(Path(snakemake.input.manifest))["test"]}[track]
targets, sources = snakemake.params.targets, snakemake.params.sources
# estimates come in the order of expand(): source-major, then target
estimates = iter(snakemake.input.estimates)
write_listening_page(
    track=track,
    mixture_path=info.path("mixture"),
    reference_paths={t: info.path(t) for t in targets},
    estimate_paths={s: {t: Path(next(estimates)) for t in targets} for s in sources},
    score_paths=dict(zip(sources, map(Path, snakemake.input.scores))),
    sources=sources,
    labels=snakemake.params.labels,
    oracle=snakemake.params.oracle,
    settings=snakemake.params.settings,
    win=snakemake.params.win,
    hop=snakemake.params.hop,
    rate=info.rate,
    page=Path(snakemake.output.page),
    summary=Path(snakemake.output.summary),
)
