rule generate_synthetic:
    output:
        voc=directory(f"{DATA_ROOT}/VOCdevkit"),
        manifest=f"{DATA_ROOT}/dataset.json",
    log:
        "logs/data/generate_synthetic.log",
    benchmark:
        "benchmarks/data/generate_synthetic.tsv"
    params:
        root=DATA_ROOT,
        flags=to_flags(config["synthetic"]),
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "{PYTHON} -m tagseg.data.synthetic --out {params.root} {params.flags} > {log} 2>&1"


rule cache_split:
    input:
        get_dataset_marker,
    output:
        get_cache_files("{split}"),
    log:
        "logs/data/cache_{split}.log",
    benchmark:
        "benchmarks/data/cache_{split}.tsv"
    params:
        root=DATA_ROOT,
        out=get_cache_dir("{split}"),
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "{PYTHON} -m tagseg.data.voc --root {params.root} --split {wildcards.split} --out {params.out} > {log} 2>&1"
