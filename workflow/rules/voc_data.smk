# The voc scale's dataset (config data.source: voc): both papers' splits built from VOC2012 + SBD,
# plus IDW when data.idw names a folder, by tagseg.data.splits into data.root; and, when
# data.voc12_test_tar names the VOC2012 test tar, the evaluation server's submissions. The raw
# data comes from download.smk's rules (its paths: common.smk's get_voc_ready, get_archive_marker,
# get_archive_record, get_seg11valid). Inactive at the synthetic scales.


if config["data"]["source"] == "voc":

    rule build_voc_splits:
        input:
            unpack(get_voc_split_sources),
        output:
            f"{DATA_ROOT}/dataset.json",
        log:
            "logs/data/build_voc_splits.log",
        benchmark:
            "benchmarks/data/build_voc_splits.tsv"
        conda:
            "../../envs/tagseg.yaml"
        params:
            voc2012=f"{get_voc_root()}/VOCdevkit/VOC2012",
            sbd=get_sbd_dir(),
            seg11valid=get_seg11valid(),
            idw=get_idw_flag,
            root=get_output_parent,
        shell:
            "python -m tagseg.data.splits --voc2012 {params.voc2012:q} --sbd {params.sbd:q}"
            " --seg11valid {params.seg11valid:q} {params.idw} --out {params.root:q} > {log:q} 2>&1"


if get_submissions():
    FIRST_SEED = config["seeds"][0]

    # sun2018: Figure 3's "ours", FCN-8s+generator with the classifier's labels at tau (Table 4's best row)
    rule export_voc12_test_sun2018:
        input:
            tar=config["data"]["voc12_test_tar"],
            model=f"results/models/fcn8s/gen/seed{FIRST_SEED}/model.pt",
            classifier=f"results/classifier/seed{FIRST_SEED}/model.pt",
        output:
            SUBMISSIONS["sun2018"],
        log:
            "logs/export/sun2018_voc2012_test.log",
        benchmark:
            "benchmarks/export/sun2018_voc2012_test.tsv"
        conda:
            "../../envs/tagseg.yaml"
        threads: config["resources"]["eval_threads"]
        resources:
            gpu=1,
        params:
            tau=config["sun2018"]["tau"],
            device=config["resources"]["device"],
            precision=config["resources"]["precision"],
        shell:
            "python -m tagseg.sun2018.export --test-tar {input.tar:q} --model {input.model:q}"
            " --classifier {input.classifier:q} --tau {params.tau} --out {output:q} --device {params.device}"
            " --precision {params.precision} --threads {threads} > {log:q} 2>&1"

    # luo2017: the most-inference DIS, t_tr and t_ts at their largest (the paper's submitted setup, 30 and 30)
    rule export_voc12_test_luo2017:
        input:
            **get_step_size_input(),
            tar=config["data"]["voc12_test_tar"],
            model=f"results/dis/ttr{max(config['dis']['t_tr'])}/seed{FIRST_SEED}/model.pt",
        output:
            SUBMISSIONS["luo2017"],
        log:
            "logs/export/luo2017_voc2012_test.log",
        benchmark:
            "benchmarks/export/luo2017_voc2012_test.tsv"
        conda:
            "../../envs/tagseg.yaml"
        threads: config["resources"]["eval_threads"]
        resources:
            gpu=1,
        params:
            t_ts=max(config["dis"]["t_ts"]),
            step_size=get_step_size_flag,
            inference=config["dis"]["inference"],
            device=config["resources"]["device"],
            precision=config["resources"]["precision"],
        shell:
            "python -m tagseg.luo2017.export --test-tar {input.tar:q} --model {input.model:q} --t-ts {params.t_ts}"
            " {params.step_size} --inference {params.inference} --out {output:q} --device {params.device}"
            " --precision {params.precision} --threads {threads} > {log:q} 2>&1"
