# Phase-mix oracle SDR on the validation tracks for one set of STFT windows: a seed's
# random draws, the whole grid (exhaustive mode) or the control windows.
rule oracle_search:
    input:
        manifest=MANIFEST,
    output:
        "results/oracle/search_{search}.csv",
    log:
        "logs/oracle/search_{search}.log",
    benchmark:
        "benchmarks/oracle/search_{search}.tsv"
    conda:
        "../envs/oracle.yaml"
    threads: 2  # one process per window, BLAS threads capped at 1
    resources:
        mem_mb=split_mem("oracle_search"),
        runtime=fixed_time(60),
    params:
        oracle=config["oracle"],
        targets=TARGETS,
    script:
        "../workflow_scripts/oracle_search.py"


# Single best window, best window per target and the controls. A checkpoint: variants
# that take their STFT from it (stft.from_oracle) know their statistics file only after it.
checkpoint oracle_best:
    input:
        searches=get_oracle_searches(),
        controls="results/oracle/search_controls.csv",
    output:
        "results/oracle/best.json",
    log:
        "logs/oracle/best.log",
    benchmark:
        "benchmarks/oracle/best.tsv"
    conda:
        "../envs/oracle.yaml"
    resources:
        mem_mb=fixed_mem("oracle_best"),
        runtime=fixed_time(10),
    params:
        oracle=config["oracle"],
        targets=TARGETS,
    script:
        "../workflow_scripts/oracle_best.py"


# SDR against window length per target, chosen and control windows marked, the notes' figures
# beside them (plot and notes_comparison.md).
rule oracle_plot:
    input:
        searches=get_oracle_searches(),
        best="results/oracle/best.json",
    output:
        plot="results/oracle/sdr_vs_window.pdf",
        table="results/oracle/notes_comparison.md",
    log:
        "logs/oracle/sdr_vs_window.log",
    benchmark:
        "benchmarks/oracle/sdr_vs_window.tsv"
    conda:
        "../envs/plots.yaml"
    resources:
        mem_mb=fixed_mem("oracle_plot"),
        runtime=fixed_time(10),
    params:
        dataset=KIND,
    script:
        "../workflow_scripts/oracle_plot.py"
