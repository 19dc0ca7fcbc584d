# The phase-mix oracle of one test track: |STFT 4096| of each source with the mixture's phase.
rule oracle_estimates:
    input:
        manifest=MANIFEST,
    output:
        estimates=expand(
            "results/{oracle}/estimates/{{track}}/{target}.wav",
            oracle=ORACLE_VARIANT,
            target=SCORED,
        ),
        provenance=f"results/{ORACLE_VARIANT}/estimates/{{track}}/provenance.json",
    log:
        "logs/evaluate/oracle/{track}.log",
    benchmark:
        f"benchmarks/separate/{ORACLE_VARIANT}/{{track}}.tsv"
    group:
        "per_track"  # bundled for SLURM: profiles/slurm group-components
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=track_mem("oracle_estimates"),
        runtime=track_time("oracle_estimates"),
    params:
        targets=SCORED,
        sums=STUDY.sums,
        sample_format=config["separation"].get("sample_format", "float"),
    script:
        "../workflow_scripts/oracle_estimates.py"


# The sliCQ phase-mix oracle of one test track (evaluation.slicq_oracle): each source's
# |sliCQ| with the mixture's phase, on the transform of that sliced variant (umx-mr-7).
rule oracle_slicq_estimates:
    input:
        manifest=MANIFEST,
    output:
        estimates=expand(
            "results/{oracle}/estimates/{{track}}/{target}.wav",
            oracle=SLICQ_ORACLE_VARIANT,
            target=SCORED,
        ),
        provenance=f"results/{SLICQ_ORACLE_VARIANT}/estimates/{{track}}/provenance.json",
    log:
        "logs/evaluate/oracle-slicq/{track}.log",
    benchmark:
        "benchmarks/evaluate/oracle-slicq/{track}.tsv"
    group:
        "per_track"  # bundled for SLURM: profiles/slurm group-components
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=track_mem("oracle_slicq_estimates"),
        runtime=track_time("oracle_slicq_estimates"),
    params:
        targets=SCORED,
        sums=STUDY.sums,
        sample_format=config["separation"].get("sample_format", "float"),
        slicq=resolve_variant(config, SLICQ_ORACLE) if SLICQ_ORACLE else None,
    script:
        "../workflow_scripts/oracle_estimates.py"


# BSSEval v4 of one separated test track, in museval's JSON format.
rule evaluate:
    input:
        estimates=expand(
            "results/{{variant}}/estimates/{{track}}/{target}.wav", target=SCORED
        ),
        provenance="results/{variant}/estimates/{track}/provenance.json",
        manifest=MANIFEST,
    output:
        "results/{variant}/museval/{track}.json",
    log:
        "logs/evaluate/{variant}/{track}.log",
    benchmark:
        "benchmarks/evaluate/{variant}/{track}.tsv"
    group:
        "per_track"  # bundled for SLURM: profiles/slurm group-components
    conda:
        "../envs/evaluate.yaml"
    threads: 2  # processes of umxmr.evaluation.bsseval, one BLAS thread each
    resources:
        mem_mb=track_mem("evaluate"),
        runtime=track_time("evaluate"),
    params:
        targets=SCORED,
        sums=STUDY.sums,
        win=config["evaluation"].get("win", 1.0),
        hop=config["evaluation"].get("hop", 1.0),
    script:
        "../workflow_scripts/evaluate.py"


# museval's SDR of one track by the exact SDR path (framewise SNR, museval's framing and
# masks; no museval import) and the global SDR (uSDR), in museval's JSON format: always made
# (cheap); results/{variant}/museval/{track}.json (all four metrics) is made beside it only
# when evaluation.metrics asks for SIR, SAR and ISR.
rule evaluate_sdr:
    input:
        estimates=expand(
            "results/{{variant}}/estimates/{{track}}/{target}.wav", target=SCORED
        ),
        provenance="results/{variant}/estimates/{track}/provenance.json",
        manifest=MANIFEST,
    output:
        "results/{variant}/sdr/{track}.json",
    log:
        "logs/evaluate_sdr/{variant}/{track}.log",
    benchmark:
        "benchmarks/evaluate_sdr/{variant}/{track}.tsv"
    group:
        "per_track"  # bundled for SLURM: profiles/slurm group-components
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=track_mem("evaluate_sdr"),
        runtime=track_time("evaluate_sdr"),
    params:
        targets=SCORED,
        sums=STUDY.sums,
        win=config["evaluation"].get("win", 1.0),
        hop=config["evaluation"].get("hop", 1.0),
    script:
        "../workflow_scripts/evaluate_sdr.py"


# Median over frames per track (scores.csv) and over tracks (summary.csv), as museval.
rule aggregate:
    input:
        get_score_jsons,
    output:
        scores=report(
            "results/scores.csv",
            caption="../report/scores.rst",
            category="Tables",
            labels={"table": "scores per track"},
        ),
        summary="results/summary.csv",
    log:
        "logs/evaluate/aggregate.log",
    benchmark:
        "benchmarks/evaluate/aggregate.tsv"
    group:
        "report"
    conda:
        "../envs/evaluate.yaml"
    resources:
        mem_mb=fixed_mem("aggregate"),
        runtime=fixed_time(10),
    params:
        labels=get_score_labels(),
        metrics=METRICS,
    script:
        "../workflow_scripts/aggregate.py"


# Each variant vs the baseline on the same tracks, and the summary tables.
rule compare:
    input:
        scores="results/scores.csv",
        summary="results/summary.csv",
    output:
        comparison="results/comparison.csv",
        markdown="results/summary.md",
        html=report(
            "results/report/summary.html",
            caption="../report/summary.rst",
            category="Tables",
            labels={"table": "summary and paired comparison"},
        ),
    log:
        "logs/evaluate/compare.log",
    benchmark:
        "benchmarks/evaluate/compare.tsv"
    group:
        "report"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("compare"),
        runtime=fixed_time(10),
    params:
        baseline=BASELINE,
        # the sliCQ oracle (evaluation.slicq_oracle) as a row after the variants
        variants=EVAL_VARIANTS + [l for v, l in ORACLES.items() if v != ORACLE_VARIANT],
        oracle=ORACLE_LABEL,
        dataset=KIND,
        targets_meaning=STUDY.meaning(),
    script:
        "../workflow_scripts/compare.py"
