rule train_classifier:
    input:
        get_cache_files(DATASET.sun2018_train),
        weights=get_weights("model"),
    output:
        model="results/classifier/seed{seed}/model.pt",
        curve="results/classifier/seed{seed}/train_log.csv",
        run="results/classifier/seed{seed}/run.json",
    log:
        "logs/train_classifier/seed{seed}.log",
    benchmark:
        "benchmarks/train_classifier/seed{seed}.tsv"
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    params:
        cache=get_input_parent,
        out_dir=get_output_parent,
        flags=get_classifier_flags,
        torch_home=get_torch_home("model"),
    shell:
        "{params.torch_home}python -m tagseg.sun2018.train_classifier train --train-cache {params.cache:q} --out-dir {params.out_dir:q}"
        " --seed {wildcards.seed} --threads {threads} {params.flags} > {log:q} 2>&1"


rule predict_classifier:
    # every split's probabilities in one job: the model is loaded (and torch started) once per seed
    input:
        caches=[path for split in DATASET.names for path in get_cache_files(split)],
        model=rules.train_classifier.output.model,
    output:
        probabilities=expand("results/classifier/seed{{seed}}/{split}.npz", split=DATASET.names),
        reports=expand("results/classifier/seed{{seed}}/{split}.json", split=DATASET.names),
    log:
        "logs/predict_classifier/seed{seed}.log",
    benchmark:
        "benchmarks/predict_classifier/seed{seed}.tsv"
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["eval_threads"]
    resources:
        gpu=1,
    params:
        caches=[get_cache_dir(split) for split in DATASET.names],
        device=config["resources"]["device"],
        precision=config["resources"]["precision"],
    shell:
        "python -m tagseg.sun2018.train_classifier predict --model {input.model:q} --cache {params.caches:q}"
        " --out {output.probabilities:q} --device {params.device} --precision {params.precision} --threads {threads} > {log:q} 2>&1"
