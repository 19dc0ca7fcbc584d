# SDR per target, one box per variant.
rule boxplot:
    input:
        "results/scores.csv",
    output:
        "results/boxplot.pdf",
    log:
        "logs/plots/boxplot.log",
    conda:
        "../envs/plots.yaml"
    script:
        "../workflow_scripts/boxplot.py"


# Train and validation loss per epoch, one panel per target.
rule training_curves:
    input:
        expand("results/{{variant}}/{target}.json", target=TARGETS),
    output:
        "results/{variant}/training_curves.pdf",
    log:
        "logs/plots/training_curves/{variant}.log",
    conda:
        "../envs/plots.yaml"
    params:
        targets=TARGETS,
    script:
        "../workflow_scripts/training_curves.py"
