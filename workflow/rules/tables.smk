# Tables and figures read a handful of small files: on a cluster they run on the submitting host. The two
# example figures run networks (FCN-8s, DIS with inference): GPU jobs like the evaluations.
localrules:
    paper_table,
    sun2018_figure4,
    sun2018_section3,
    training_curves,
    luo2017_grid,
    claims,
    runtime_table,


rule paper_table:
    input:
        get_table_metrics,
    output:
        report(
            "results/tables/{table}.csv",
            caption="../report/paper_table.rst",
            category=get_report_category,
            subcategory=get_report_subcategory,
        ),
    log:
        "logs/tables/{table}.log",
    benchmark:
        "benchmarks/tables/{table}.tsv"
    conda:
        "../../envs/tagseg.yaml"
    params:
        flags=get_table_flags,
    shell:
        "python -m tagseg.reporting.tables --table {wildcards.table} {params.flags} --out {output:q} {input:q} > {log:q} 2>&1"


rule sun2018_figure4:
    input:
        sweeps=get_figure4_sweeps,
        reference=get_figure4_reference,
    output:
        csv=report(
            "results/tables/sun2018_figure4.csv",
            caption="../report/sun2018_figure4.rst",
            **get_report_place("sun2018_figure4"),
        ),
        png=report(
            "results/figures/sun2018_figure4.png",
            caption="../report/sun2018_figure4.rst",
            **get_report_place("sun2018_figure4"),
        ),
    log:
        "logs/figures/sun2018_figure4.log",
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.reporting.figures_sun2018 figure4 --sweeps {input.sweeps:q} --reference {input.reference:q}"
        " --csv {output.csv:q} --png {output.png:q} > {log:q} 2>&1"


rule sun2018_section3:
    input:
        sweeps=get_figure4_sweeps,
    output:
        csv=report(
            "results/tables/sun2018_section3.csv",
            caption="../report/sun2018_section3.rst",
            **get_report_place("sun2018_section3"),
        ),
        png=report(
            "results/figures/sun2018_section3.png",
            caption="../report/sun2018_section3.rst",
            **get_report_place("sun2018_section3"),
        ),
    log:
        "logs/figures/sun2018_section3.log",
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.reporting.figures_sun2018 section3 --sweeps {input.sweeps:q} --csv {output.csv:q} --png {output.png:q} > {log:q} 2>&1"


rule sun2018_figure3:
    input:
        unpack(get_figure3_models),
        cache=get_cache_files("test"),
    output:
        report(
            "results/figures/sun2018_figure3.png",
            caption="../report/sun2018_figure3.rst",
            **get_report_place("sun2018_figure3"),
        ),
    log:
        "logs/figures/sun2018_figure3.log",
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["eval_threads"]
    resources:
        gpu=1,
    params:
        cache=get_cache_input_dir,
        tau=config["sun2018"]["tau"],
        images=config["sun2018"]["figure3_images"],
        precision=config["resources"]["precision"],
        device=config["resources"]["device"],
    shell:
        "python -m tagseg.reporting.figures_sun2018 figure3 --cache {params.cache:q} --baseline {input.baseline:q} --ours {input.ours:q}"
        " --probabilities {input.probabilities:q} --tau {params.tau} --images {params.images} --png {output:q}"
        " --precision {params.precision} --device {params.device} --threads {threads} > {log:q} 2>&1"


rule training_curves:
    input:
        get_training_logs,
    output:
        report(
            "results/figures/training_curves.png",
            caption="../report/training_curves.rst",
            **get_report_place("training_curves"),
        ),
    log:
        "logs/figures/training_curves.log",
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.reporting.figures_sun2018 curves --logs {input:q} --png {output:q} > {log:q} 2>&1"


rule luo2017_grid:
    input:
        get_dis_grid_metrics,
    output:
        csv=report(
            "results/tables/luo2017_grid.csv", caption="../report/luo2017_grid.rst", **get_report_place("luo2017_grid")
        ),
        png=report(
            "results/figures/luo2017_grid.png",
            caption="../report/luo2017_grid.rst",
            **get_report_place("luo2017_grid"),
        ),
    log:
        "logs/figures/luo2017_grid.log",
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.reporting.figures_luo2017 dis_grid --evaluations {input:q} --csv {output.csv:q} --png {output.png:q} > {log:q} 2>&1"


rule luo2017_figure5:
    input:
        unpack(get_figure5_models),
        unpack(get_step_size_input),
        cache=get_cache_files("test"),
    output:
        report(
            "results/figures/luo2017_figure5.png",
            caption="../report/luo2017_figure5.rst",
            **get_report_place("luo2017_figure5"),
        ),
    log:
        "logs/figures/luo2017_figure5.log",
    conda:
        "../../envs/tagseg.yaml"
    threads: config["resources"]["eval_threads"]
    resources:
        gpu=1,
    params:
        cache=get_cache_input_dir,
        models=get_figure5_flags,
        step_size=get_step_size_flag,
        inference=config["dis"]["inference"],
        precision=config["resources"]["precision"],
        device=config["resources"]["device"],
    shell:
        "python -m tagseg.reporting.figures_luo2017 dis_examples --cache {params.cache:q} {params.models} {params.step_size}"
        " --inference {params.inference} --precision {params.precision} --device {params.device} --threads {threads}"
        " --png {output:q} > {log:q} 2>&1"


rule claims:
    input:
        get_claims_inputs,
    output:
        csv=report("results/tables/claims.csv", caption="../report/claims_table.rst", **get_report_place("claims")),
        png=report("results/figures/claims.png", caption="../report/claims_figure.rst", **get_report_place("claims")),
    log:
        "logs/tables/claims.log",
    conda:
        "../../envs/tagseg.yaml"
    params:
        sources=get_claims_source_flags,
        seeds=" ".join(map(str, config["seeds"])),
        tau=config["sun2018"]["tau"],
        t_tr=" ".join(map(str, config["dis"]["t_tr"])),
        trained_t_tr=" ".join(map(str, STAGE2_T_TR)),
        t_ts=" ".join(map(str, config["dis"]["t_ts"])),
        margin=CLAIMS_MARGIN,
        bootstrap=config["claims"]["bootstrap"],
        splits=" ".join(CLAIMS_SPLITS),
        own_data="--own-data" if OWN_DATA else "",
    shell:
        "python -m tagseg.reporting.claims table {params.sources} --seeds {params.seeds} --tau {params.tau}"
        " --t-tr {params.t_tr} --trained-t-tr {params.trained_t_tr} --t-ts {params.t_ts} --margin {params.margin} --bootstrap {params.bootstrap}"
        " --splits {params.splits} {params.own_data}"
        " --csv {output.csv:q} --png {output.png:q} > {log:q} 2>&1"


# Benchmark files summed per stage (tagseg.reporting.runtime_table), once every other final output exists.
# No benchmark of its own: it would time itself into the next run's table.
rule runtime_table:
    input:
        get_runtime_inputs,
    output:
        report(RUNTIME_TABLE, caption="../report/runtime.rst", **get_report_place("runtime")),
    log:
        "logs/tables/runtime.log",
    conda:
        "../../envs/tagseg.yaml"
    params:
        benchmarks="benchmarks",
    shell:
        "python -m tagseg.reporting.runtime_table --benchmarks {params.benchmarks:q} --out {output:q} > {log:q} 2>&1"


# The README's figures and its generated sections (verdicts, results, claims), refreshed from a default run:
# `snakemake readme_assets` (not part of the default target: it writes into the checkout's docs/ and
# README.md, which are committed). The rule graph beside them: docs/architecture.md says how it is drawn.
rule readme_assets:
    input:
        csv="results/tables/claims.csv",
        claims="results/figures/claims.png",
        figure4="results/figures/sun2018_figure4.png",
        grid="results/figures/luo2017_grid.png",
        tables=expand("results/tables/{name}.csv", name=README_TABLES),
    output:
        claims="docs/figures/claims.png",
        figure4="docs/figures/sun2018_figure4.png",
        grid="docs/figures/luo2017_grid.png",
    log:
        "logs/readme_assets.log",
    localrule: True
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "cp {input.claims:q} {output.claims:q} && cp {input.figure4:q} {output.figure4:q}"
        " && cp {input.grid:q} {output.grid:q}"
        " && python -m tagseg.reporting.claims readme --csv {input.csv:q} --readme README.md > {log:q} 2>&1"
