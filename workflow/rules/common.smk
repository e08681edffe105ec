import json
import re
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

from snakemake.settings.types import DeploymentMethod

# The workflow parses with the light part of tagseg only (no torch, numpy or PIL): this checkout's src/
# first on the path, so that the code that plans the jobs is the code that runs them.
sys.path.insert(0, str(Path(workflow.basedir, "src")))

from tagseg.core.cli import to_flags
from tagseg.config_checks import check_combinations
from tagseg.core.config import expand_paths
from tagseg.core.config import prepare_config
from tagseg.core.weights import needed_weights, section_weights
from tagseg.data.roles import FOLDER_LAYOUTS, dataset_splits
from tagseg.reporting.claims_catalogue import known_claims
from tagseg.reporting.papers import FIGURE4, LUO_TABLES, PAPER_TABLES, TABLES, figure5_setups
from tagseg.reporting.readme import RESULTS_TABLES as README_TABLES
from tagseg.sun2018.variants import VARIANTS

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
# values typed as the schema says (--config hands nested ones over as text), every key a config
# leaves out filled with the schema's default, ~ and $VARIABLES read in its paths, then one check
prepare_config(config, SCHEMA)
expand_paths(config)
check_combinations(config)

DATA_ROOT = config["data"]["root"]
# Which splits the data source has and which plays each role: at the voc scale sun2018 trains on
# trainaug and luo2017 on VOC12 train; the synthetic data has one train split (tagseg.data.splits).
DATASET = dataset_splits(config["data"]["source"], config["data"]["idw"], config["folder"])
# A dataset of the user's (source folder): its tables and claims carry no paper columns
OWN_DATA = config["data"]["source"] == "folder"
# luo2017's stage-2 runs (one per t_tr) learn from the weak pools: none without one (a user's dataset may
# have none), and then the tables leave their rows empty with the reason (DATASET.missing["weak_pools"])
STAGE2_T_TR = config["dis"]["t_tr"] if DATASET.weak_pools else []
# Rules call `python -m tagseg...` with this checkout's src/ first on PYTHONPATH (so the code that
# runs is the code whose commit the outputs record), and, without --use-conda, with the python
# snakemake runs in (the project's venv, even when it is not activated) first on PATH.
_src, _bin = Path(workflow.basedir) / "src", Path(sys.executable).parent
# (an unset PYTHONPATH leaves an empty entry, the working directory, which `python -m` has anyway)
_prefix = f'export PYTHONPATH={shlex.quote(str(_src))}:"$PYTHONPATH"; set -euo pipefail; '
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    _prefix += f'export PATH={shlex.quote(str(_bin))}:"$PATH"; '
shell.prefix(_prefix)


wildcard_constraints:
    arch="fcn32s|fcn8s",
    variant="|".join(VARIANTS),
    seed=r"\d+",
    split=r"[A-Za-z0-9_]+",
    tau=r"[0-9]+(\.[0-9]+)?",
    table="|".join(PAPER_TABLES),
    run=r"stage1|continued|ttr\d+",
    t_tr=r"\d+",


def get_cache_dir(split):
    """Folder of a split's decoded arrays (images.npy, masks.npy, index.npz)."""
    return f"{DATA_ROOT}/cache/{split}"


def get_cache_files(split):
    return multiext(f"{get_cache_dir(split)}/", "images.npy", "masks.npy", "index.npz")


def get_input_parent(wildcards, input):
    """Folder of a rule's first input (a cache folder, a dataset root)."""
    return str(Path(input[0]).parent)


def get_cache_input_dir(wildcards, input):
    """Folder of a rule's ``cache`` input (a split's decoded arrays)."""
    return str(Path(input.cache[0]).parent)


def get_withheld_flag(wildcards):
    """``--withheld`` for a weak pool's analysis cache (``<pool>_withheld``), else nothing."""
    return "--withheld" if wildcards.withheld else ""


def get_output_parent(wildcards, output):
    """Folder of a rule's first output (a run folder, a cache folder)."""
    return str(Path(output[0]).parent)


def get_dataset_marker(wildcards):
    """The file that says the VOC tree under DATA_ROOT is complete."""
    return f"{DATA_ROOT}/dataset.json"


RUN_ON = {"device": config["resources"]["device"], "precision": config["resources"]["precision"]}


def _training_flags(settings):
    """A trainer's settings plus the model section, the device and the precision, as command-line flags."""
    return to_flags({**settings, **config["model"], **RUN_ON})


def get_train_flags(wildcards):
    """FCN training settings (config: train, model, resources.device and precision) as command-line flags."""
    return _training_flags(config["train"])


def get_classifier_flags(wildcards):
    """Classifier settings (config: classifier, model, resources.device and precision) as command-line flags."""
    return _training_flags(config["classifier"])


def get_classifier_probabilities():
    """Every split's class probabilities, from every seed's classifier."""
    return expand("results/classifier/seed{seed}/{split}.npz", seed=config["seeds"], split=DATASET.names)


TAU = f'{config["sun2018"]["tau"]:g}'  # as it appears in file names


def get_metrics(arch, variant, split, labels="truth"):
    """Every seed's metrics of one model on one split; labels: truth, or the classifier's at the configured tau."""
    name = split if labels == "truth" else f"{split}.tau{TAU}"
    return expand(f"results/metrics/{arch}/{variant}/seed{{seed}}/{name}.json", seed=config["seeds"])


def get_dis_metrics(run, split):
    """Every seed's evaluation of one DIS run (``stage1`` or ``ttr<N>``) on one split."""
    return expand(f"results/dis_metrics/{run}/seed{{seed}}/{split}.json", seed=config["seeds"])


def get_table_metrics(wildcards):
    """The metrics behind one of the papers' tables (rows may share runs)."""
    if wildcards.table == "luo2017_weak":  # inference on the weak pools, stage-1 models
        if not DATASET.withheld_pools:  # written with the reason instead (get_table_flags)
            return []
        return expand(
            "results/dis_weak/stage1/seed{seed}/{pool}.json", seed=config["seeds"], pool=DATASET.withheld_pools
        )
    if wildcards.table == "luo2017_table4":  # cost of the most-inference model, every seed (the same network
        if not STAGE2_T_TR:  # at stage 1, and so the same cost, where there is no stage 2)
            return get_dis_metrics("stage1", "test")
        return get_dis_metrics(f"ttr{max(STAGE2_T_TR)}", "test")
    if wildcards.table in LUO_TABLES:
        table = LUO_TABLES[wildcards.table]
        if table.split in DATASET.missing:  # written with the reason instead (get_table_flags)
            return []
        runs = {row.run for row in table.rows if row.run is not None}
        runs = [run for run in runs if not run.startswith("ttr") or int(run[3:]) in STAGE2_T_TR]
        files = [path for run in sorted(runs) for path in get_dis_metrics(run, table.split)]
        return files
    table = TABLES[wildcards.table]
    files = [path for row in table.rows for path in get_metrics(row.arch, row.variant, table.split, row.labels)]
    return list(dict.fromkeys(files))


def get_table_flags(wildcards):
    """``--not-run <reason>`` for a table whose split the data source lacks (luo2017 Table 5 without IDW, the
    weak-pool table without a pool of withheld masks); ``--own-data`` on a user's dataset (no paper columns)."""
    flags = "--own-data " if OWN_DATA else ""
    table = LUO_TABLES.get(wildcards.table)
    if table is not None and table.split in DATASET.missing:
        return flags + f"--not-run {shlex.quote(DATASET.missing[table.split])}"
    if wildcards.table == "luo2017_weak" and not DATASET.withheld_pools:
        return flags + f"--not-run {shlex.quote(DATASET.missing['weak_withheld'])}"
    if table is not None and not STAGE2_T_TR:
        return flags + f"--no-stage2 {shlex.quote(DATASET.missing['weak_pools'])}"
    return flags


def get_dis_grid_metrics(wildcards):
    """Every stage-2 run's evaluation on test, every seed: the t_tr x t_ts grid."""
    return [path for t_tr in STAGE2_T_TR for path in get_dis_metrics(f"ttr{t_tr}", "test")]


FIGURE5 = figure5_setups(config["dis"]["t_tr"], config["dis"]["t_ts"])  # luo2017 Fig. 5's (t_tr, t_ts)


def get_figure5_models(wildcards):
    """The first seed's stage-2 model of each t_tr luo2017's Figure 5 shows."""
    seed = config["seeds"][0]
    return {f"ttr{t_tr}": f"results/dis/ttr{t_tr}/seed{seed}/model.pt" for t_tr, _ in FIGURE5}


def get_figure5_flags(wildcards, input):
    return " ".join(f"--model {t_tr} {t_ts} {shlex.quote(input[f'ttr{t_tr}'])}" for t_tr, t_ts in FIGURE5)


def get_dis_flags(wildcards):
    """DIS training settings (config: dis, less its grids and the step size; resources.device and precision) as
    command-line flags."""
    settings = {
        key: value for key, value in config["dis"].items() if key not in ("t_tr", "t_ts", "step_size", "step_size_grid")
    }
    return to_flags({**settings, **RUN_ON})


# The inference step size: chosen on val by rule select_dis_step_size (dis.smk) from the stage-1 models,
# or the number dis.step_size gives. Every rule that runs inference takes it as get_step_size_input and
# get_step_size_flag, stage 1's training aside (it runs no inference).
STEP_SIZE_SELECTION = "results/dis/step_size.json"


def get_step_size_input(wildcards=None):
    return {"step_size": STEP_SIZE_SELECTION} if config["dis"]["step_size"] == "val" else {}


def get_step_size_flag(wildcards, input):
    if config["dis"]["step_size"] == "val":
        return f"--step-size-from {shlex.quote(input.step_size)}"
    return f"--step-size {config['dis']['step_size']}"


def get_weak_caches(wildcards):
    """DIS stage 2's weak pools (clean tags, and noisy tags where the source has them) by name."""
    return {pool: get_cache_files(pool) for pool in DATASET.weak_pools}


def get_weak_cache_dirs(wildcards, input):
    """``--weak-cache`` flags for the weak pools."""
    return " ".join(f"--weak-cache {shlex.quote(str(Path(input[pool][0]).parent))}" for pool in DATASET.weak_pools)


def get_figure4_sweeps(wildcards):
    """Every seed's tau sweep of Figure 4's network on its split."""
    arch, variant, split = FIGURE4["arch"], FIGURE4["variant"], FIGURE4["split"]
    return expand(f"results/sweeps/{arch}/{variant}/seed{{seed}}/{split}.json", seed=config["seeds"])


def get_figure4_reference(wildcards=None):
    """Every seed's FCN-32s+generator on Figure 4's split: the figure's line without labels at test."""
    return get_metrics("fcn32s", "gen", FIGURE4["split"])


def get_figure3_models(wildcards):
    """Figure 3's networks, from the first seed: FCN-8s, and FCN-8s+generator (ours, with labels at test)."""
    seed = config["seeds"][0]
    return {
        "baseline": f"results/models/fcn8s/base/seed{seed}/model.pt",
        "ours": f"results/models/fcn8s/gen/seed{seed}/model.pt",
        "probabilities": f"results/classifier/seed{seed}/test.npz",
    }


def get_training_logs(wildcards):
    """The loss curves of every FCN model the papers' tables use, every seed."""
    models = sorted({(row.arch, row.variant) for table in TABLES.values() for row in table.rows})
    models.append((FIGURE4["arch"], FIGURE4["variant"]))
    return [
        path
        for arch, variant in dict.fromkeys(models)
        for path in expand(f"results/models/{arch}/{variant}/seed{{seed}}/train_log.csv", seed=config["seeds"])
    ]


CLAIMS_MARGIN = config["claims"]["margin"]
# The splits claims can be measured on: the data's, less weak pools without withheld masks (IDW's)
CLAIMS_SPLITS = [s for s in DATASET.names if not s.startswith("weak") or s in DATASET.withheld_pools]


def get_source_files(source):
    """Every seed's result file behind one of the claims catalogue's sources (Measure.source)."""
    kind, *parts = source.split("/")
    if kind == "fcn":
        arch, variant, split = parts
        split, _, labels = split.partition("+")  # "<split>+classifier": the classifier's labels at tau
        return get_metrics(arch, variant, split, labels or "truth")
    if kind == "sweep":
        return get_figure4_sweeps(None)
    if kind == "dis":
        return get_dis_metrics(*parts)
    if kind == "weak":
        return expand(f"results/dis_weak/stage1/seed{{seed}}/{parts[0]}.json", seed=config["seeds"])
    if kind == "classifier":  # the image-labelling network's report on a split (its mAP)
        return expand(f"results/classifier/seed{{seed}}/{parts[0]}.json", seed=config["seeds"])
    raise ValueError(f"claims source {source!r}: unknown kind {kind!r}")


def get_claims_sources():
    """Source name -> its files, for every measure the configured claims can be computed from."""
    t_tr, t_ts = config["dis"]["t_tr"], config["dis"]["t_ts"]
    claims = known_claims(t_tr, t_ts, config["sun2018"]["tau"], CLAIMS_MARGIN)
    measures = [measure for claim in claims for pair in (*claim.comparisons, *claim.controls) for measure in pair]
    measures += [claim.precondition.measure for claim in claims if claim.precondition is not None]
    sources = {measure.source for measure in measures
               if measure.source is not None and measure.available(STAGE2_T_TR, t_ts, CLAIMS_SPLITS)}  # fmt: skip
    return {source: get_source_files(source) for source in sorted(sources)}


def get_claims_inputs(wildcards):
    return sorted({path for files in get_claims_sources().values() for path in files})


def get_claims_source_flags(wildcards):
    """``--source NAME FILE...`` per source, the files in the order of ``seeds``."""
    return " ".join(f"--source {name} {shlex.join(files)}" for name, files in get_claims_sources().items())


def get_voc_split_sources(wildcards):
    """voc scale: the download rules' files that say VOC2012, SBD and seg11valid are in place (and IDW's tag file)."""
    sources = {
        "voc2012": get_voc_ready(),
        "sbd": get_archive_marker("sbd"),
        "seg11valid": get_archive_record(name="seg11valid"),
    }
    if config["data"]["idw"]:
        sources["idw"] = f"{config['data']['idw']}/tags.txt"
    return sources


def get_folder_inputs():
    """source folder: the files of the user's dataset that name its classes, splits and weak pools, where they exist."""
    folder = config["folder"]
    root = Path(folder["path"])
    splits = folder["splits"] or FOLDER_LAYOUTS[folder["layout"]]["splits"]
    files = [root / splits / f"{split}.txt" for split in ("train", "val", "test")]
    if isinstance(folder["classes"], str):
        files.append(root / folder["classes"])
    files += [root / folder[pool] for pool in ("weak_clean", "weak_noisy") if folder[pool]]
    return [str(path) for path in files if path.is_file()]


def get_idw_flag(wildcards):
    return f"--idw {shlex.quote(config['data']['idw'])}" if config["data"]["idw"] else ""


SUBMISSIONS = {paper: f"results/submissions/{paper}_voc2012_test.tar.gz" for paper in ("sun2018", "luo2017")}


def get_submissions():
    """The server submissions, when the voc scale runs with the VOC2012 test tar supplied."""
    if config["data"]["source"] != "voc" or not config["data"]["voc12_test_tar"]:
        return []
    return list(SUBMISSIONS.values())


# --- the report (snakemake --report report.html) -----------------------------------------------
# A category per paper, a subcategory per paper element. The report lists categories in
# alphabetical order (case aside): "Claims" first, then luo2017, sun2018, "Workflow runtime" last.
# (A category may not be named "Workflow" or "Statistics": the report's own panels are.)
REPORT_PLACES = {
    "claims": ("Claims", "Claims"),
    "sun2018_table1": ("sun2018", "Table 1"),
    "sun2018_table2": ("sun2018", "Table 2"),
    "sun2018_table3": ("sun2018", "Table 3"),
    "sun2018_table4": ("sun2018", "Table 4"),
    "sun2018_figure3": ("sun2018", "Figure 3"),
    "sun2018_figure4": ("sun2018", "Figure 4"),
    "sun2018_section3": ("sun2018", "Section 3"),
    "training_curves": ("sun2018", "Training curves"),
    "luo2017_table3": ("luo2017", "Table 3"),
    "luo2017_grid": ("luo2017", "Table 3"),  # the t_tr x t_ts grid behind Table 3's ablation rows
    "luo2017_table4": ("luo2017", "Table 4"),
    "luo2017_table5": ("luo2017", "Table 5"),
    "luo2017_figure5": ("luo2017", "Figure 5"),
    "luo2017_weak": ("luo2017", "Section 3.1"),
    "runtime": ("Workflow runtime", "Benchmarks"),
}


def get_report_place(name):
    """``category=`` and ``subcategory=`` for report(), from REPORT_PLACES[name]."""
    return dict(zip(("category", "subcategory"), REPORT_PLACES[name]))


def get_report_category(wildcards):
    """The report category (paper) of a ``{table}`` rule's output."""
    return REPORT_PLACES[wildcards.table][0]


def get_report_subcategory(wildcards):
    """The report subcategory (paper element) of a ``{table}`` rule's output."""
    return REPORT_PLACES[wildcards.table][1]


RUNTIME_TABLE = "results/tables/runtime.csv"


def get_runtime_inputs(wildcards):
    """Every other final output: the runtime table is written once every job it times has run."""
    return [path for path in get_final_outputs() if path != RUNTIME_TABLE]


def get_final_outputs():
    return [
        "results/tables/claims.csv",
        "results/figures/claims.png",
        *expand("results/tables/{table}.csv", table=sorted(PAPER_TABLES)),
        "results/tables/sun2018_figure4.csv",
        "results/figures/sun2018_figure4.png",
        "results/tables/sun2018_section3.csv",
        "results/figures/sun2018_section3.png",
        "results/figures/sun2018_figure3.png",
        "results/figures/training_curves.png",
        *(
            [
                "results/tables/luo2017_grid.csv",
                "results/figures/luo2017_grid.png",
                "results/figures/luo2017_figure5.png",
            ]
            if STAGE2_T_TR
            else []
        ),  # the stage-2 grid and its examples; Table 3 says why when there is none
        *get_classifier_probabilities(),
        *get_submissions(),
        RUNTIME_TABLE,
    ]


# --- downloads (workflow/rules/download.smk; config: downloads) ---------------------------------

DOWNLOADS = config["downloads"]
DOWNLOAD_DIR = DOWNLOADS["data_dir"]
ARCHIVES = DOWNLOADS["archives"]
TAR_ARCHIVES = [name for name in ARCHIVES if name != "seg11valid"]  # seg11valid.txt is read as fetched


# ImageNet weights (config: model.pretrained, dis.pretrained): fetched once, by a local job on the submit host,
# into a TORCH_HOME of the workflow's own; the training jobs read them from there (offline on cluster nodes).
TORCH_HOME = f"{DOWNLOAD_DIR}/torch"


def get_weights(section):
    """The weights file a training rule's model starts from (``model``: the FCNs and the classifier; ``dis``), if any."""
    weights = section_weights(config, section)
    return [] if weights is None else [f"{TORCH_HOME}/hub/checkpoints/{weights[2]}"]


def get_torch_home(section):
    """``TORCH_HOME=<the workflow's>`` before a training command whose model starts from ImageNet weights."""
    return f"TORCH_HOME={shlex.quote(TORCH_HOME)} " if get_weights(section) else ""


def get_voc_root(wildcards=None):
    """Folder holding VOCdevkit/VOC2012: downloads.voc_root when set, else where the archive is extracted."""
    return DOWNLOADS["voc_root"] or DOWNLOAD_DIR


def get_voc_ready(wildcards=None):
    """The file that says VOC2012 trainval is in place: the extraction's marker, or a file of the user's tree."""
    if DOWNLOADS["voc_root"]:  # snakemake names it as a missing input if voc_root is wrong
        return f"{DOWNLOADS['voc_root']}/VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt"
    return get_archive_marker("voc2012_trainval")


def get_archive_marker(name):
    """The marker written once archive ``name`` (a key of downloads.archives) is extracted into DOWNLOAD_DIR."""
    return f"{DOWNLOAD_DIR}/.extracted_{name}"


def get_sbd_dir(wildcards=None):
    """SBD's dataset folder (cls/, img/, train.txt, val.txt), there once get_archive_marker("sbd") is."""
    return f"{DOWNLOAD_DIR}/benchmark_RELEASE/dataset"


def get_seg11valid(wildcards=None):
    """The FCN authors' seg11valid.txt, there (md5-verified) once get_archive_record("seg11valid") is."""
    return f"{DOWNLOAD_DIR}/archives/{ARCHIVES['seg11valid']['filename']}"


def get_url_flags(name):
    """--url flags of downloads.archives[name], in the configured order."""
    return " ".join(f"--url {shlex.quote(url)}" for url in ARCHIVES[name]["urls"])


def _archive_by_filename(filename):
    return next(name for name in ARCHIVES if ARCHIVES[name]["filename"] == filename)


def get_archive_md5_by_filename(wildcards):
    return ARCHIVES[_archive_by_filename(wildcards.filename)]["md5"]


# Where a file comes from is not what it is: only the md5 may make snakemake redo a download (and
# everything after it). A params function that takes `output` counts, for snakemake, as derived
# from the output and is left out of the params trigger, so editing a mirror list reruns nothing.
def get_archive_url_flags(wildcards, output):
    return get_url_flags(_archive_by_filename(wildcards.filename))


def get_downloaded_file(wildcards, output):
    """The file a download job verifies or fetches: its record's path without ``.md5``."""
    return output[0].removesuffix(".md5")


def get_archive_filenames_pattern():
    """The downloads' file names as one regex, so the download rule makes only those."""
    return "|".join(re.escape(ARCHIVES[name]["filename"]) for name in ARCHIVES)


def get_archive_file(wildcards):
    """An extraction job's archive, under <data_dir>/archives/."""
    return f"{DOWNLOAD_DIR}/archives/{ARCHIVES[wildcards.name]['filename']}"


def get_archive_record(wildcards=None, name=None):
    """The checksum record the download writes once archive ``name`` (or the job's) is verified."""
    return f"{DOWNLOAD_DIR}/archives/{ARCHIVES[name or wildcards.name]['filename']}.md5"


def get_archive_md5(wildcards):
    return ARCHIVES[wildcards.name]["md5"]


# --- the evaluations: one job per trained model (workflow/rules/fcn.smk, dis.smk) ---------------
# Each job loads its model (and starts torch, 2-2.5 s) once and writes every result of it that a
# table, figure or claim reads: the results below, collected from those rules' input functions.
EVALUATED = {
    "fcn": re.compile(
        r"results/metrics/(?P<arch>\w+)/(?P<variant>\w+)/seed(\d+|{seed})/(?P<split>\w+?)(\.tau(?P<tau>[0-9.]+))?\.json"
    ),
    "sweep": re.compile(r"results/sweeps/(?P<arch>\w+)/(?P<variant>\w+)/seed(\d+|{seed})/(?P<split>\w+)\.json"),
    "dis": re.compile(r"results/dis_metrics/(?P<run>\w+)/seed(\d+|{seed})/(?P<split>\w+)\.json"),
    "weak": re.compile(r"results/dis_weak/(?P<run>stage1)/seed(\d+|{seed})/(?P<split>\w+)\.json"),
}


def _read_results():
    """Every evaluation result the tables, figures and claims read, each seed's."""
    files = {path for table in PAPER_TABLES for path in get_table_metrics(SimpleNamespace(table=table))}
    files |= set(get_claims_inputs(None)) | set(get_figure4_sweeps(None)) | set(get_figure4_reference())
    return files | set(get_dis_grid_metrics(None))


def _evaluated(path):
    """(kind of result, its fields: arch, variant or run, split, tau) of an evaluation output's path."""
    kind, match = next((kind, m) for kind, pattern in EVALUATED.items() if (m := pattern.fullmatch(path)))
    return kind, {"tau": None, **match.groupdict()}


def _plan_evaluations():
    """{("fcn", (arch, variant)) or ("dis", run): output patterns with a {seed} wildcard}, every model's."""
    plan = {}
    for path in sorted(_read_results()):
        if not any(pattern.fullmatch(path) for pattern in EVALUATED.values()):
            continue  # not a model's evaluation (the classifier's reports, written by predict_classifier)
        kind, match = _evaluated(path)
        model = ("fcn", (match["arch"], match["variant"])) if kind in ("fcn", "sweep") else ("dis", match["run"])
        pattern = re.sub(r"(?<=seed)\d+(?=/)", "{seed}", path)
        plan.setdefault(model, [])
        if pattern not in plan[model]:
            plan[model].append(pattern)
    return plan


EVALUATIONS = _plan_evaluations()


def _evaluation_tasks(output):
    """(kind, split, tau, output path) for each output of a model's evaluation job."""
    for path in output:
        kind, match = _evaluated(path)
        yield kind, match["split"], match["tau"], path


def get_evaluation_job_inputs(outputs):
    """The caches (and the classifier's probabilities) a model's evaluation job reads, as patterns."""
    inputs = {}
    for kind, split, tau, _ in _evaluation_tasks(outputs):
        inputs[f"cache_{split}"] = get_cache_files(split)
        if kind == "weak":
            inputs[f"cache_{split}_withheld"] = get_cache_files(f"{split}_withheld")
        if kind == "sweep" or tau:
            inputs[f"probabilities_{split}"] = f"results/classifier/seed{{seed}}/{split}.npz"
    return inputs


def get_fcn_evaluation_flags(wildcards, output):
    """``--evaluate``, ``--evaluate-at-tau`` and ``--sweep`` flags: one per output (tagseg.sun2018.evaluate_fcn)."""
    flags = []
    for kind, split, tau, path in _evaluation_tasks(output):
        cache = shlex.quote(get_cache_dir(split))
        probabilities = shlex.quote(f"results/classifier/seed{wildcards.seed}/{split}.npz")
        if kind == "sweep":
            flags.append(f"--sweep {cache} {probabilities} {shlex.quote(path)}")
        elif tau:
            flags.append(f"--evaluate-at-tau {cache} {probabilities} {tau} {shlex.quote(path)}")
        else:
            flags.append(f"--evaluate {cache} {shlex.quote(path)}")
    return " ".join(flags)


def get_dis_evaluation_flags(wildcards, output):
    """``--evaluate`` and ``--weak`` flags, one per output (tagseg.luo2017.evaluate_dis), and for weak pools
    ``--weak-steps``: inference in training's t_tr steps."""
    flags = []
    for kind, split, _, path in _evaluation_tasks(output):
        cache = shlex.quote(get_cache_dir(split))
        if kind == "weak":
            flags.append(f"--weak {cache} {shlex.quote(get_cache_dir(split + '_withheld'))} {shlex.quote(path)}")
        else:
            flags.append(f"--evaluate {cache} {shlex.quote(path)}")
    if any(flag.startswith("--weak ") for flag in flags):
        flags.append("--weak-steps " + " ".join(map(str, config["dis"]["t_tr"])))
    return " ".join(flags)
