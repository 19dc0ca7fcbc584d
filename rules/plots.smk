# SDR per target, one box per variant (the phase-mix oracle in grey).
rule boxplot:
    input:
        "results/scores.csv",
    output:
        "results/boxplot.pdf",
    log:
        "logs/plots/boxplot.log",
    conda:
        "../envs/plots.yaml"
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
    conda:
        "../envs/plots.yaml"
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
    conda:
        "../envs/plots.yaml"
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
    conda:
        "../envs/plots.yaml"
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
    conda:
        "../envs/plots.yaml"
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
    conda:
        "../envs/plots.yaml"
    script:
        "../workflow_scripts/training_curves.py"
