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
    threads: config["resources"].get("train_threads", 2)
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.train_fcn --train-cache {params.cache} --out-dir {params.out_dir}"
        " --arch {wildcards.arch} --variant {wildcards.variant} --seed {wildcards.seed} --threads {threads}"
        " {params.flags} > {log} 2>&1"


rule evaluate_fcn:
    input:
        cache=get_cache_files("{split}"),
        model=rules.train_fcn.output.model,
    output:
        "results/metrics/{arch}/{variant}/seed{seed}/{split}.json",
    log:
        "logs/evaluate_fcn/{arch}_{variant}_seed{seed}_{split}.log",
    benchmark:
        "benchmarks/evaluate_fcn/{arch}_{variant}_seed{seed}_{split}.tsv"
    params:
        cache=get_input_parent,
        batch_size=config["eval"].get("batch_size", 16),
        device=config["resources"].get("device", "auto"),
    threads: config["resources"].get("eval_threads", 1)
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.evaluate --model {input.model} --cache {params.cache} --out {output}"
        " --batch-size {params.batch_size} --device {params.device} --threads {threads} > {log} 2>&1"


rule evaluate_fcn_classifier_labels:
    input:
        cache=get_cache_files("{split}"),
        model=rules.train_fcn.output.model,
        probabilities="results/classifier/seed{seed}/{split}.npz",
    output:
        "results/metrics/{arch}/{variant}/seed{seed}/{split}.tau{tau}.json",
    log:
        "logs/evaluate_fcn/{arch}_{variant}_seed{seed}_{split}_tau{tau}.log",
    benchmark:
        "benchmarks/evaluate_fcn/{arch}_{variant}_seed{seed}_{split}_tau{tau}.tsv"
    params:
        cache=get_input_parent,
        batch_size=config["eval"].get("batch_size", 16),
        device=config["resources"].get("device", "auto"),
    threads: config["resources"].get("eval_threads", 1)
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.evaluate --model {input.model} --cache {params.cache} --out {output}"
        " --probabilities {input.probabilities} --tau {wildcards.tau}"
        " --batch-size {params.batch_size} --device {params.device} --threads {threads} > {log} 2>&1"


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
        batch_size=config["eval"].get("batch_size", 16),
        device=config["resources"].get("device", "auto"),
    threads: config["resources"].get("eval_threads", 1)
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.tau_sweep --model {input.model} --cache {params.cache} --probabilities {input.probabilities}"
        " --taus {params.taus} --out {output} --batch-size {params.batch_size} --device {params.device}"
        " --threads {threads} > {log} 2>&1"
