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
        conda:
            "../../envs/tagseg.yaml"
        params:
            root=get_output_parent,
            flags=to_flags(config["synthetic"]),
        shell:
            "python -m tagseg.data.synthetic --out {params.root:q} {params.flags} > {log:q} 2>&1"


# A split's decoded arrays; ``<pool>_withheld`` caches a weak pool's withheld masks and clean tags,
# for measuring inference in training only (tagseg.data.voc --withheld).
rule cache_split:
    input:
        get_dataset_marker,
    output:
        get_cache_files("{split}{withheld}"),
    log:
        "logs/data/cache_{split}{withheld}.log",
    benchmark:
        "benchmarks/data/cache_{split}{withheld}.tsv"
    wildcard_constraints:
        split=r"[A-Za-z0-9_]+?",  # the shortest name, so that "<pool>_withheld" is <pool> with the flag
        withheld=r"(_withheld)?",
    conda:
        "../../envs/tagseg.yaml"
    params:
        root=get_input_parent,
        out=get_output_parent,
        withheld=get_withheld_flag,
    shell:
        "python -m tagseg.data.voc --root {params.root:q} --split {wildcards.split} --out {params.out:q} {params.withheld}"
        " > {log:q} 2>&1"


# A dataset of the user's (data.source: folder): checked, then imported into the VOC layout by
# tagseg.data.folder. The inputs are the files the config names that edits are made in (the class
# list, split lists, tags files); a changed folder.* setting reruns it too. New or edited images
# and masks alone do not: `snakemake --forcerun import_folder` then.
if config["data"]["source"] == "folder":

    rule import_folder:
        input:
            get_folder_inputs(),
        output:
            manifest=f"{DATA_ROOT}/dataset.json",
            voc=directory(f"{DATA_ROOT}/VOCdevkit"),
        log:
            "logs/data/import_folder.log",
        benchmark:
            "benchmarks/data/import_folder.tsv"
        conda:
            "../../envs/tagseg.yaml"
        params:
            root=get_output_parent,
            settings=json.dumps(config["folder"], sort_keys=True),
        shell:
            "python -m tagseg.data.folder build --settings {params.settings:q} --out {params.root:q} > {log:q} 2>&1"
