# BSSEval v4 of one separated test track, in museval's JSON format.
rule evaluate:
    input:
        estimates=expand(
            "results/{{variant}}/estimates/{{track}}/{target}.wav", target=TARGETS
        ),
        manifest=MANIFEST,
    output:
        "results/{variant}/museval/{track}.json",
    log:
        "logs/evaluate/{variant}/{track}.log",
    benchmark:
        "benchmarks/evaluate/{variant}/{track}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 2  # processes of umxmr.bsseval, one BLAS thread each
    resources:
        mem_mb=4000,
    params:
        targets=TARGETS,
        win=config["evaluation"].get("win", 1.0),
        hop=config["evaluation"].get("hop", 1.0),
    script:
        "../workflow_scripts/evaluate.py"


# Median over frames per track (scores.csv) and over tracks (summary.csv), as museval.
rule aggregate:
    input:
        get_museval_jsons,
    output:
        scores="results/scores.csv",
        summary="results/summary.csv",
    log:
        "logs/evaluate/aggregate.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        variants=config["evaluation"]["variants"],
    script:
        "../workflow_scripts/aggregate.py"
