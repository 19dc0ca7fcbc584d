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
