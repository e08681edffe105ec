rule train_fcn:
    input:
        get_cache_files(DATASET.sun2018_train),
    output:
        model="results/models/{arch}/{variant}/seed{seed}/model.pt",
        curve="results/models/{arch}/{variant}/seed{seed}/train_log.csv",
        run="results/models/{arch}/{variant}/seed{seed}/run.json",
    log:
        "logs/train_fcn/{arch}_{variant}_seed{seed}.log",
    benchmark:
        "benchmarks/train_fcn/{arch}_{variant}_seed{seed}.tsv"
    params:
        cache=get_input_parent,
        out_dir=get_output_parent,
        flags=get_train_flags,
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.sun2018.train_fcn --train-cache {params.cache:q} --out-dir {params.out_dir:q}"
        " --arch {wildcards.arch} --variant {wildcards.variant} --seed {wildcards.seed} --threads {threads}"
        " {params.flags} > {log:q} 2>&1"


# One rule for both sources of image labels at test: the split's ground truth (``<split>.json``), or
# the classifier's probabilities at a threshold (``<split>.tau<tau>.json``, sun2018 Table 4).
rule evaluate_fcn:
    input:
        unpack(get_evaluation_inputs),
    output:
        "results/metrics/{arch}/{variant}/seed{seed}/{split}{labels}.json",
    log:
        "logs/evaluate_fcn/{arch}_{variant}_seed{seed}_{split}{labels}.log",
    benchmark:
        "benchmarks/evaluate_fcn/{arch}_{variant}_seed{seed}_{split}{labels}.tsv"
    params:
        cache=get_cache_input_dir,
        labels=get_evaluation_label_flags,
        batch_size=config["eval"]["batch_size"],
        device=config["resources"]["device"],
        precision=config["resources"]["precision"],
    threads: config["resources"]["eval_threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.sun2018.evaluate_fcn --model {input.model:q} --cache {params.cache:q} --out {output:q}"
        " {params.labels} --batch-size {params.batch_size} --device {params.device} --precision {params.precision} --threads {threads} > {log:q} 2>&1"


rule tau_sweep:
    input:
        cache=get_cache_files("{split}"),
        model=rules.train_fcn.output.model,
        probabilities="results/classifier/seed{seed}/{split}.npz",
    output:
        "results/sweeps/{arch}/{variant}/seed{seed}/{split}.json",
    log:
        "logs/tau_sweep/{arch}_{variant}_seed{seed}_{split}.log",
    benchmark:
        "benchmarks/tau_sweep/{arch}_{variant}_seed{seed}_{split}.tsv"
    params:
        cache=get_input_parent,
        taus=config["sun2018"]["taus"],
        batch_size=config["eval"]["batch_size"],
        device=config["resources"]["device"],
        precision=config["resources"]["precision"],
    threads: config["resources"]["eval_threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.sun2018.tau_sweep --model {input.model:q} --cache {params.cache:q} --probabilities {input.probabilities:q}"
        " --taus {params.taus} --out {output:q} --batch-size {params.batch_size} --device {params.device} --precision {params.precision}"
        " --threads {threads} > {log:q} 2>&1"
