rule train_dis_stage1:
    input:
        get_cache_files(DATASET.luo2017_train),
        weights=get_weights("dis"),
    output:
        model="results/dis/stage1/seed{seed}/model.pt",
        curve="results/dis/stage1/seed{seed}/train_log.csv",
        run="results/dis/stage1/seed{seed}/run.json",
    log:
        "logs/train_dis/stage1_seed{seed}.log",
    benchmark:
        "benchmarks/train_dis/stage1_seed{seed}.tsv"
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    params:
        cache=get_input_parent,
        out_dir=get_output_parent,
        flags=get_dis_flags,
        torch_home=get_torch_home("dis"),
    shell:
        "{params.torch_home}python -m tagseg.luo2017.train_dis --stage stage1 --train-cache {params.cache:q} --out-dir {params.out_dir:q}"
        " --seed {wildcards.seed} --threads {threads} {params.flags} > {log:q} 2>&1"


# The inference step size, chosen on val from dis.step_size_grid by every seed's stage-1 model (the rule in
# tagseg.luo2017.step_size); only when dis.step_size is val. The test split is not an input.
rule select_dis_step_size:
    input:
        models=expand(rules.train_dis_stage1.output.model, seed=config["seeds"]),
        cache=get_cache_files(DATASET.validation),
    output:
        STEP_SIZE_SELECTION,
    log:
        "logs/select_dis_step_size.log",
    benchmark:
        "benchmarks/select_dis_step_size.tsv"
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["eval_threads"]
    resources:
        gpu=1,
    params:
        models=lambda wildcards, input: " ".join(f"--model {shlex.quote(path)}" for path in input.models),
        cache=lambda wildcards, input: get_cache_dir(DATASET.validation),
        grid=" ".join(map(str, config["dis"]["step_size_grid"])),
        steps=max(config["dis"]["t_ts"]),
        inference=config["dis"]["inference"],
        batch_size=config["eval"]["batch_size"],
        device=config["resources"]["device"],
        precision=config["resources"]["precision"],
    shell:
        "python -m tagseg.luo2017.step_size {params.models} --val-cache {params.cache:q} --grid {params.grid}"
        " --steps {params.steps} --inference {params.inference} --batch-size {params.batch_size}"
        " --device {params.device} --precision {params.precision} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule train_dis_stage2:
    input:
        unpack(get_weak_caches),
        unpack(get_step_size_input),
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
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    params:
        cache=get_cache_input_dir,
        weak=get_weak_cache_dirs,
        out_dir=get_output_parent,
        flags=get_dis_flags,
        step_size=get_step_size_flag,
    shell:
        "python -m tagseg.luo2017.train_dis --stage stage2 --t-tr {wildcards.t_tr} --stage1-model {input.stage1}"
        " --train-cache {params.cache:q} {params.weak} --out-dir {params.out_dir:q} {params.step_size}"
        " --seed {wildcards.seed} --threads {threads} {params.flags} > {log:q} 2>&1"


# Stage 2's compute-matched control: the stage-1 model trained on, by stage 2's updates (its iterations,
# optimizer, schedule and pixel-labelled batches), without the weak images. It runs no inference.
rule train_dis_continued:
    input:
        cache=get_cache_files(DATASET.luo2017_train),
        stage1=rules.train_dis_stage1.output.model,
    output:
        model="results/dis/continued/seed{seed}/model.pt",
        curve="results/dis/continued/seed{seed}/train_log.csv",
        run="results/dis/continued/seed{seed}/run.json",
    log:
        "logs/train_dis/continued_seed{seed}.log",
    benchmark:
        "benchmarks/train_dis/continued_seed{seed}.tsv"
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        gpu=1,
    params:
        cache=get_cache_input_dir,
        out_dir=get_output_parent,
        flags=get_dis_flags,
    shell:
        "python -m tagseg.luo2017.train_dis --stage continued --stage1-model {input.stage1}"
        " --train-cache {params.cache:q} --out-dir {params.out_dir:q}"
        " --seed {wildcards.seed} --threads {threads} {params.flags} > {log:q} 2>&1"


# One job per model and seed for every result of it the tables, figures and claims read (common.smk:
# EVALUATIONS): its scores on a split at every t_ts from one pass, and for stage-1 models inference
# on the weak pools at the t_tr steps, measured against their withheld masks and clean tags.
# In the group `evaluations`, as sun2018's (fcn.smk).
for (kind, run), planned in EVALUATIONS.items():
    if kind != "dis":
        continue

    rule:
        name:
            f"evaluate_dis_{run}"
        input:
            **get_evaluation_job_inputs(planned),
            **get_step_size_input(),
            model=f"results/dis/{run}/seed{{seed}}/model.pt",
        output:
            planned,
        log:
            f"logs/evaluate_dis/{run}_seed{{seed}}.log",
        benchmark:
            f"benchmarks/evaluate_dis/{run}_seed{{seed}}.tsv"
        group:
            "evaluations"
        conda:
            "../../envs/tagseg.yaml"
        threads: config["resources"]["eval_threads"]
        resources:
            gpu=1,
        params:
            results=get_dis_evaluation_flags,
            t_ts=" ".join(map(str, config["dis"]["t_ts"])),
            step_size=get_step_size_flag,
            inference=config["dis"]["inference"],
            batch_size=config["eval"]["batch_size"],
            device=config["resources"]["device"],
            precision=config["resources"]["precision"],
        shell:
            "python -m tagseg.luo2017.evaluate_dis --model {input.model:q} {params.results}"
            " --t-ts {params.t_ts} {params.step_size}"
            " --inference {params.inference} --batch-size {params.batch_size}"
            " --device {params.device} --precision {params.precision} --threads {threads} > {log:q} 2>&1"
