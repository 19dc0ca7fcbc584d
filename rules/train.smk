# Train one target model of one variant; resumes from resume/ after a kill or a stop signal.
rule train:
    input:
        manifest=MANIFEST,
        stats=get_stats,
    output:
        pth="results/{variant}/{target}.pth",
        json="results/{variant}/{target}.json",
    log:
        "logs/train/{variant}/{target}.log",
    benchmark:
        "benchmarks/train/{variant}/{target}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2  # torch intra-op threads; the data is read in the main process
    # a job killed or stopped by SIGTERM/SIGUSR1 exits non-zero; run again, it resumes
    retries: 2
    resources:
        gpu=1,
        mem_mb=8000,
    params:
        settings=lambda wildcards: variant_settings(wildcards.variant),
        checkpoint="resume/{variant}/{target}.chkpnt",
    script:
        "../workflow_scripts/train.py"
