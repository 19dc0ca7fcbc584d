# The separator's STFT and Wiener settings, as open-unmix's separator.json.
rule separator_config:
    input:
        unpack(get_target_models),
    output:
        "results/{variant}/separator.json",
    log:
        "logs/separate/{variant}/separator.log",
    benchmark:
        "benchmarks/separate/{variant}/separator.tsv"
    group:
        "per_variant"
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=fixed_mem("separator_config"),
        runtime=fixed_time(10),
    params:
        separation=get_separation,
        targets=TARGETS,
    script:
        "../workflow_scripts/separator_config.py"


# A variant's models in openunmix's own format (openunmix.utils.load_separator, `umx --model`);
# refused, with the reason, for layouts openunmix's fixed 3-layer BLSTM model cannot represent.
rule export_openunmix:
    input:
        unpack(get_target_models),
        separator="results/{variant}/separator.json",
    output:
        models=expand(
            "results/{{variant}}/openunmix/{target}.{ext}",
            target=TARGETS,
            ext=["json", "pth"],
        ),
        separator="results/{variant}/openunmix/separator.json",
    log:
        "logs/separate/{variant}/export_openunmix.log",
    benchmark:
        "benchmarks/separate/{variant}/export_openunmix.tsv"
    wildcard_constraints:
        variant=trained_variants_pattern(),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=fixed_mem("export_openunmix"),
        runtime=fixed_time(10),
    params:
        targets=TARGETS,
    script:
        "../workflow_scripts/export_openunmix.py"


# Separate one test track with every target model and norbert's Wiener filter.
rule separate:
    input:
        unpack(get_target_models),
        separator="results/{variant}/separator.json",
        manifest=MANIFEST,
    output:
        estimates=expand(
            "results/{{variant}}/estimates/{{track}}/{target}.wav", target=SCORED
        ),
        provenance="results/{variant}/estimates/{track}/provenance.json",
    log:
        "logs/separate/{variant}/{track}.log",
    benchmark:
        "benchmarks/separate/{variant}/{track}.tsv"
    wildcard_constraints:
        variant=trained_variants_pattern(),
    group:
        "per_track"  # bundled for SLURM: profiles/slurm group-components
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=track_mem("separate"),
        runtime=track_time("separate"),
    params:
        complement=STUDY.complement,
    script:
        "../workflow_scripts/separate.py"
