rule train_fcn:
    input:
        get_cache_files(DATASET.sun2018_train),
        weights=get_weights("model"),
    output:
        model="results/models/{arch}/{variant}/seed{seed}/model.pt",
        curve="results/models/{arch}/{variant}/seed{seed}/train_log.csv",
        run="results/models/{arch}/{variant}/seed{seed}/run.json",
    log:
        "logs/train_fcn/{arch}_{variant}_seed{seed}.log",
    benchmark:
        "benchmarks/train_fcn/{arch}_{variant}_seed{seed}.tsv"
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    params:
        cache=get_input_parent,
        out_dir=get_output_parent,
        flags=get_train_flags,
        torch_home=get_torch_home("model"),
    shell:
        "{params.torch_home}python -m tagseg.sun2018.train_fcn --train-cache {params.cache:q} --out-dir {params.out_dir:q}"
        " --arch {wildcards.arch} --variant {wildcards.variant} --seed {wildcards.seed} --threads {threads}"
        " {params.flags} > {log:q} 2>&1"


# One job per model and seed for every result of it the tables, figures and claims read (common.smk:
# EVALUATIONS): its scores on a split with the split's ground-truth labels (``<split>.json``) or the
# classifier's at tau (``<split>.tau<tau>.json``, sun2018 Table 4), and tau sweeps (Figure 4).
# The evaluations are the group `evaluations`, which a cluster profile bundles (workflow/profiles/slurm);
# a local run ignores groups.
for (kind, model), planned in EVALUATIONS.items():
    if kind != "fcn":
        continue
    arch, variant = model

    rule:
        name:
            f"evaluate_{arch}_{variant}"
        input:
            **get_evaluation_job_inputs(planned),
            model=f"results/models/{arch}/{variant}/seed{{seed}}/model.pt",
        output:
            planned,
        log:
            f"logs/evaluate_fcn/{arch}_{variant}_seed{{seed}}.log",
        benchmark:
            f"benchmarks/evaluate_fcn/{arch}_{variant}_seed{{seed}}.tsv"
        group:
            "evaluations"
        conda:
            "../../envs/tagseg.yaml"
        threads: config["resources"]["eval_threads"]
        resources:
            gpu=1,
        params:
            results=get_fcn_evaluation_flags,
            taus=config["sun2018"]["taus"],
            batch_size=config["eval"]["batch_size"],
            device=config["resources"]["device"],
            precision=config["resources"]["precision"],
        shell:
            "python -m tagseg.sun2018.evaluate_fcn --model {input.model:q} {params.results} --taus {params.taus}"
            " --batch-size {params.batch_size} --device {params.device} --precision {params.precision} --threads {threads}"
            " > {log:q} 2>&1"
