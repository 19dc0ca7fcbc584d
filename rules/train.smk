# Train one target model of one variant with one seed; resumes from resume/ after a kill
# or a stop signal.
rule train:
    input:
        manifest=MANIFEST,
        stats=get_stats,
        extra=get_extra_manifests,
        oracle=get_oracle_best,
    output:
        pth="results/{variant}/seeds/{seed}/{target}.pth",
        json="results/{variant}/seeds/{seed}/{target}.json",
    log:
        "logs/train/{variant}/seeds/{seed}/{target}.log",
    benchmark:
        "benchmarks/train/{variant}/seeds/{seed}/{target}.tsv"
    # a job killed or stopped by SIGTERM/SIGUSR1 exits non-zero; run again, it resumes
    retries: 2
    conda:
        "../envs/torch.yaml"
    threads: 2  # torch intra-op threads; the data is read in the main process
    resources:
        gpu=1,
        mem_mb=split_mem("train"),
    params:
        settings=get_seed_settings,
        checkpoint="resume/{variant}/seeds/{seed}/{target}.chkpnt",
    script:
        "../workflow_scripts/train.py"


# The seed with the lowest validation loss is the variant's model for the target.
rule select_seed:
    input:
        unpack(get_seed_models),
    output:
        pth="results/{variant}/{target}.pth",
        json="results/{variant}/{target}.json",
    log:
        "logs/train/{variant}/{target}.select_seed.log",
    benchmark:
        "benchmarks/train/{variant}/{target}.select_seed.tsv"
    wildcard_constraints:
        variant=pattern_of([v for v in config["variants"] if v not in PRETRAINED]),
    group:
        "per_variant"
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=fixed_mem("select_seed"),
        runtime=fixed_time(10),
    params:
        seeds=lambda wildcards: variant_seeds(variant_settings(wildcards.variant)),
    script:
        "../workflow_scripts/select_seed.py"


# A published Open-Unmix model (variants.<name>.pretrained: umxhq, umx or umxl) read strictly
# into our model from torch hub's cache (downloaded once) or the row's offline `weights` folder.
rule pretrained_model:
    output:
        pth="results/{variant}/{target}.pth",
        json="results/{variant}/{target}.json",
    log:
        "logs/train/{variant}/{target}.pretrained.log",
    benchmark:
        "benchmarks/train/{variant}/{target}.pretrained.tsv"
    wildcard_constraints:
        variant=pattern_of(PRETRAINED),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=fixed_mem("pretrained_model"),
        runtime=fixed_time(10),
    params:
        pretrained=lambda wildcards: get_pretrained(wildcards)["pretrained"],
        weights=lambda wildcards: get_pretrained(wildcards)["weights"],
    script:
        "../workflow_scripts/pretrained_model.py"
