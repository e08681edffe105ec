rule train_classifier:
    input:
        get_cache_files(DATASET.sun2018_train),
    output:
        model="results/classifier/seed{seed}/model.pt",
        curve="results/classifier/seed{seed}/train_log.csv",
        run="results/classifier/seed{seed}/run.json",
    log:
        "logs/train_classifier/seed{seed}.log",
    benchmark:
        "benchmarks/train_classifier/seed{seed}.tsv"
    params:
        cache=get_input_parent,
        out_dir=get_output_parent,
        flags=get_classifier_flags,
    threads: config["resources"].get("train_threads", 2)
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.train_classifier train --train-cache {params.cache} --out-dir {params.out_dir}"
        " --seed {wildcards.seed} --threads {threads} {params.flags} > {log} 2>&1"


rule predict_classifier:
    input:
        cache=get_cache_files("{split}"),
        model=rules.train_classifier.output.model,
    output:
        probabilities="results/classifier/seed{seed}/{split}.npz",
        report="results/classifier/seed{seed}/{split}.json",
    log:
        "logs/predict_classifier/seed{seed}_{split}.log",
    benchmark:
        "benchmarks/predict_classifier/seed{seed}_{split}.tsv"
    params:
        cache=get_input_parent,
        device=config["resources"].get("device", "auto"),
    threads: config["resources"].get("eval_threads", 1)
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.train_classifier predict --model {input.model} --cache {params.cache}"
        " --out {output.probabilities} --device {params.device} --threads {threads} > {log} 2>&1"
