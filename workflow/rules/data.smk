# The synthetic scales generate their dataset; the voc scale builds it from the downloads (voc_data.smk).
if config["data"]["source"] == "synthetic":

    rule generate_synthetic:
        output:
            manifest=f"{DATA_ROOT}/dataset.json",
            voc=directory(f"{DATA_ROOT}/VOCdevkit"),
        log:
            "logs/data/generate_synthetic.log",
        benchmark:
            "benchmarks/data/generate_synthetic.tsv"
        params:
            root=get_output_parent,
            flags=to_flags(config["synthetic"]),
        conda:
            "../../envs/tagseg.yaml"
        shell:
            "python -m tagseg.data.synthetic --out {params.root} {params.flags} > {log} 2>&1"


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
        root=get_input_parent,
        out=get_output_parent,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.data.voc --root {params.root} --split {wildcards.split} --out {params.out} > {log} 2>&1"


rule cache_withheld:
    input:
        get_dataset_marker,
    output:
        multiext(f"{DATA_ROOT}/cache/{{split}}_withheld/", "images.npy", "masks.npy", "index.npz"),
    log:
        "logs/data/cache_{split}_withheld.log",
    benchmark:
        "benchmarks/data/cache_{split}_withheld.tsv"
    params:
        root=get_input_parent,
        out=get_output_parent,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.data.voc --root {params.root} --split {wildcards.split} --out {params.out} --withheld"
        " > {log} 2>&1"


# a weak pool's analysis cache is not a split of its own name
ruleorder: cache_withheld > cache_split


include: "voc_data.smk"
