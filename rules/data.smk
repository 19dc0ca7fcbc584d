# Generate the demo dataset: seeded synthetic stems in MUSDB18-HQ layout.
rule demo_dataset:
    output:
        directory(config["dataset"]["root"] if KIND == "demo" else "data/demo"),
    log:
        "logs/data/demo_dataset.log",
    benchmark:
        "benchmarks/data/demo_dataset.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=demo_mem,
        runtime=fixed_time(10),
    params:
        demo=config.get("demo", {}),
    script:
        "../workflow_scripts/demo_dataset.py"


# A small raw tree shaped like the Periphery stems, so the demo exercises the conversion.
rule demo_periphery_raw:
    output:
        directory(
            config["periphery"]["raw"]
            if KIND == "demo" and "periphery" in config
            else "data/periphery_raw"
        ),
    log:
        "logs/data/demo_periphery_raw.log",
    benchmark:
        "benchmarks/data/demo_periphery_raw.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=fixed_mem("demo_periphery_raw"),
        runtime=fixed_time(10),
    params:
        demo=config.get("demo", {}),
    script:
        "../workflow_scripts/demo_periphery_raw.py"


# The Periphery stems (song folders of free-form stem WAVs) in MUSDB layout, with a report.
rule periphery_convert:
    input:
        get_periphery_raw,
    output:
        directory("data/periphery"),
    log:
        "logs/data/periphery_convert.log",
    benchmark:
        "benchmarks/data/periphery_convert.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=fixed_mem("periphery_convert"),
        runtime=fixed_time(30),
    params:
        periphery=config.get("periphery", {}),
    script:
        "../workflow_scripts/periphery_convert.py"


# Tracks of a track-folder dataset that are not at 44.1 kHz, resampled once (soxr) into a cache
# that the manifest lists instead of them (dataset.other_rates: resample).
rule dataset_resample:
    output:
        directory(f"data/44k/{KIND}"),
    log:
        f"logs/data/44k/{KIND}.log",
    benchmark:
        f"benchmarks/data/44k/{KIND}.tsv"
    conda:
        "../envs/data.yaml"
    params:
        root=config["dataset"]["root"],
        stems=config["dataset"].get("stems", {}),
    script:
        "../workflow_scripts/dataset_resample.py"


# MUSDB18 as released (*.stem.mp4: stream 0 the mixture, then drums, bass, other, vocals),
# decoded once into MUSDB18-HQ layout; the manifest checks and splits the decoded copy.
rule musdb18_decode:
    output:
        directory("data/decoded/musdb18"),
    log:
        "logs/data/musdb18_decode.log",
    benchmark:
        "benchmarks/data/musdb18_decode.tsv"
    conda:
        "../envs/data.yaml"
    params:
        root=config["dataset"]["root"],
    script:
        "../workflow_scripts/musdb18_decode.py"


# Check every track of a dataset once and list its tracks per split.
rule dataset_manifest:
    input:
        get_manifest_input,
    output:
        "data/{dataset}.manifest.json",
    log:
        "logs/data/{dataset}.manifest.log",
    benchmark:
        "benchmarks/data/{dataset}.manifest.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=fixed_mem("dataset_manifest"),
        runtime=fixed_time(30),
    params:
        dataset=get_manifest_params,
    script:
        "../workflow_scripts/dataset_manifest.py"


# Input mean and scale per STFT, shared by every variant and target that uses it.
rule dataset_statistics:
    input:
        MANIFEST,
    output:
        "data/stats/nfft{n_fft}_hop{hop}.npz",
    log:
        "logs/data/stats/nfft{n_fft}_hop{hop}.log",
    benchmark:
        "benchmarks/data/stats/nfft{n_fft}_hop{hop}.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=split_mem("dataset_statistics"),
        runtime=fixed_time(60),
    script:
        "../workflow_scripts/dataset_statistics.py"
