# SDR per target, one box per variant (the phase-mix oracle in grey).
rule boxplot:
    input:
        "results/scores.csv",
    output:
        "results/boxplot.pdf",
    log:
        "logs/plots/boxplot.log",
    benchmark:
        "benchmarks/plots/boxplot.tsv"
    group:
        "report"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("boxplot"),
        runtime=fixed_time(10),
    params:
        metric="SDR",
    script:
        "../workflow_scripts/boxplot.py"


# One box plot per BSSEval metric, as PDF and as SVG for the report.
rule metric_boxplot:
    input:
        "results/scores.csv",
    output:
        "results/boxplot_{metric}.pdf",
        report(
            "results/report/boxplot_{metric}.svg",
            caption="../report/boxplot.rst",
            category="Scores",
            labels={"metric": "{metric}"},
        ),
    log:
        "logs/plots/boxplot_{metric}.log",
    benchmark:
        "benchmarks/plots/boxplot_{metric}.tsv"
    group:
        "report"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("metric_boxplot"),
        runtime=fixed_time(10),
    params:
        metric=lambda wildcards: wildcards.metric,
    script:
        "../workflow_scripts/boxplot.py"


# Training and validation loss per epoch of every evaluated model.
rule training_curves:
    input:
        get_training_summaries,
    output:
        report(
            "results/report/training_curves.svg",
            caption="../report/training_curves.rst",
            category="Training",
            labels={"figure": "loss per epoch"},
        ),
    log:
        "logs/plots/training_curves.log",
    benchmark:
        "benchmarks/plots/training_curves.tsv"
    group:
        "report"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("training_curves"),
        runtime=fixed_time(10),
    script:
        "../workflow_scripts/training_curves.py"


# Best validation loss of every seed per variant and target: how much a result owes to its seed.
rule seed_spread:
    input:
        get_training_summaries,
    output:
        report(
            "results/report/seed_spread.svg",
            caption="../report/seed_spread.rst",
            category="Training",
            labels={"figure": "spread across seeds"},
        ),
    log:
        "logs/plots/seed_spread.log",
    benchmark:
        "benchmarks/plots/seed_spread.tsv"
    group:
        "report"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("seed_spread"),
        runtime=fixed_time(10),
    script:
        "../workflow_scripts/seed_spread.py"


# The configuration and each variant's resolved settings, for the report.
rule config_page:
    output:
        report(
            "results/report/config.html",
            caption="../report/config.rst",
            category="Configuration",
            labels={"page": "config and resolved variants"},
        ),
    log:
        "logs/plots/config_page.log",
    benchmark:
        "benchmarks/plots/config_page.tsv"
    group:
        "report"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("config_page"),
        runtime=fixed_time(10),
    params:
        config=config,
        variants=EVAL_VARIANTS,
    script:
        "../workflow_scripts/config_page.py"


# Train and validation loss per epoch of one variant, one panel per target.
rule variant_training_curves:
    input:
        expand("results/{{variant}}/{target}.json", target=TARGETS),
    output:
        "results/{variant}/training_curves.pdf",
    log:
        "logs/plots/training_curves/{variant}.log",
    benchmark:
        "benchmarks/plots/training_curves/{variant}.tsv"
    group:
        "per_variant"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("variant_training_curves"),
        runtime=fixed_time(10),
    script:
        "../workflow_scripts/training_curves.py"


# One excerpt of a test track (report.listening): mixture, references, every evaluated
# variant's estimate and the oracle's as inlined FLAC players with spectrograms and SDR.
rule listening_page:
    input:
        unpack(get_listening_inputs),
    output:
        page=report(
            "results/report/listening/{track}.html",
            caption="../report/listening.rst",
            category="Listening",
            labels={"page": "{track}"},
        ),
        summary="results/report/listening/{track}.json",
    log:
        "logs/plots/listening/{track}.log",
    benchmark:
        "benchmarks/report/listening/{track}.tsv"
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=fixed_mem("listening_page"),
    params:
        targets=TARGETS,
        sources=[*EVAL_VARIANTS, ORACLE_VARIANT],
        labels=get_score_labels(),
        oracle=ORACLE_VARIANT,
        settings=LISTENING,
        win=config["evaluation"].get("win", 1.0),
        hop=config["evaluation"].get("hop", 1.0),
    script:
        "../workflow_scripts/listening_page.py"


# The listening pages' index: where each excerpt lies and its SDR per variant and target.
rule listening_index:
    input:
        expand("results/report/listening/{track}.json", track=LISTENING_TRACKS),
    output:
        report(
            "results/report/listening.html",
            caption="../report/listening_index.rst",
            category="Listening",
            labels={"page": "index: excerpts and their SDR"},
        ),
    log:
        "logs/plots/listening_index.log",
    benchmark:
        "benchmarks/report/listening_index.tsv"
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=fixed_mem("listening_index"),
    script:
        "../workflow_scripts/listening_index.py"
