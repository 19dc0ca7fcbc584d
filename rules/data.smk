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
    params:
        demo=config.get("demo", {}),
    script:
        "../workflow_scripts/demo_dataset.py"


# Check every track of the dataset once and list the tracks per split.
rule dataset_manifest:
    input:
        get_dataset_input,
    output:
        MANIFEST,
    log:
        f"logs/data/{KIND}.manifest.log",
    conda:
        "../envs/data.yaml"
    params:
        kind=KIND,
        root=get_dataset_root,
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
    script:
        "../workflow_scripts/dataset_statistics.py"
