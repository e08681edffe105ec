rule train_dis_stage1:
    input:
        get_cache_files(DATASET.luo2017_train),
    output:
        model="results/dis/stage1/seed{seed}/model.pt",
        curve="results/dis/stage1/seed{seed}/train_log.csv",
        run="results/dis/stage1/seed{seed}/run.json",
    log:
        "logs/train_dis/stage1_seed{seed}.log",
    benchmark:
        "benchmarks/train_dis/stage1_seed{seed}.tsv"
    params:
        cache=get_input_parent,
        out_dir=get_output_parent,
        flags=get_dis_flags,
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.luo2017.train_dis --stage stage1 --train-cache {params.cache:q} --out-dir {params.out_dir:q}"
        " --seed {wildcards.seed} --threads {threads} {params.flags} > {log:q} 2>&1"


rule train_dis_stage2:
    input:
        unpack(get_weak_caches),
        cache=get_cache_files(DATASET.luo2017_train),
        stage1=rules.train_dis_stage1.output.model,
    output:
        model="results/dis/ttr{t_tr}/seed{seed}/model.pt",
        curve="results/dis/ttr{t_tr}/seed{seed}/train_log.csv",
        run="results/dis/ttr{t_tr}/seed{seed}/run.json",
    log:
        "logs/train_dis/ttr{t_tr}_seed{seed}.log",
    benchmark:
        "benchmarks/train_dis/ttr{t_tr}_seed{seed}.tsv"
    params:
        cache=get_cache_input_dir,
        weak=get_weak_cache_dirs,
        out_dir=get_output_parent,
        flags=get_dis_flags,
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.luo2017.train_dis --stage stage2 --t-tr {wildcards.t_tr} --stage1-model {input.stage1}"
        " --train-cache {params.cache:q} {params.weak} --out-dir {params.out_dir:q}"
        " --seed {wildcards.seed} --threads {threads} {params.flags} > {log:q} 2>&1"


# One job per model and seed for every result of it the tables, figures and claims read (common.smk:
# EVALUATIONS): its scores on a split at every t_ts from one pass, and for stage-1 models inference
# on the weak pools at the t_tr steps, measured against their withheld masks and clean tags.
for (kind, run), planned in EVALUATIONS.items():
    if kind != "dis":
        continue

    rule:
        name:
            f"evaluate_dis_{run}"
        input:
            **get_evaluation_job_inputs(planned),
            model=f"results/dis/{run}/seed{{seed}}/model.pt",
        output:
            planned,
        log:
            f"logs/evaluate_dis/{run}_seed{{seed}}.log",
        benchmark:
            f"benchmarks/evaluate_dis/{run}_seed{{seed}}.tsv"
        params:
            results=get_dis_evaluation_flags,
            t_ts=" ".join(map(str, config["dis"]["t_ts"])),
            step_size=config["dis"]["step_size"],
            inference=config["dis"]["inference"],
            batch_size=config["eval"]["batch_size"],
            device=config["resources"]["device"],
            precision=config["resources"]["precision"],
        threads: config["resources"]["eval_threads"]
        resources:
            gpu=1,
        conda:
            "../../envs/tagseg.yaml"
        shell:
            "python -m tagseg.luo2017.evaluate_dis --model {input.model:q} {params.results}"
            " --t-ts {params.t_ts} --step-size {params.step_size}"
            " --inference {params.inference} --batch-size {params.batch_size}"
            " --device {params.device} --precision {params.precision} --threads {threads} > {log:q} 2>&1"
