rule sun2018_table1:
    input:
        get_metrics("fcn32s", "base", "val"),
    output:
        report("results/tables/sun2018_table1.csv", caption="../report/sun2018_table1.rst", category="sun2018"),
    log:
        "logs/tables/sun2018_table1.log",
    benchmark:
        "benchmarks/tables/sun2018_table1.tsv"
    conda:
        "../../envs/tagseg.yaml"
    shell:
        "python -m tagseg.tables --table sun2018_table1 --out {output} {input} > {log} 2>&1"
