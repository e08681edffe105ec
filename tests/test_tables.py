"""sun2018's tables, figures and classifier-labelled evaluation: rows, labels and the tau = 0 identity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tagseg.reporting import figures_luo2017, figures_sun2018 as figures, tables
from tagseg.sun2018 import evaluate_fcn as evaluate, tau_sweep, train_fcn
from tagseg.data.voc import CachedSplit
from tagseg.sun2018.evaluate_fcn import EvalConfig
from tagseg.reporting.papers import TABLES
from tagseg.sun2018.train_classifier import write_predictions
from tagseg.sun2018.train_fcn import TrainConfig

FAST = dict(iterations=4, batch_size=2, crop_size=32, checkpoint_every=100, optimizer="adam", lr=1e-3)


def _metrics(arch, variant, miou, labels=None):
    scores = {"PA": 0.9, "MPA": 0.7, "FWAA": 0.8, "mIoU": miou}
    return {"model_run": {"settings": {"arch": arch, "variant": variant}}, "scores": scores,
            "labels": labels or {"source": "none"}}  # fmt: skip


def _write(tmp_path, name, payload):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(payload))
    return path


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_has_the_papers_rows_columns_and_order(name, tmp_path):
    paper = TABLES[name]
    files = []
    for i, row in enumerate(paper.rows):
        labels = {"source": "classifier", "tau": 0.25} if row.labels == "classifier" else None
        for seed in (0, 1):
            files.append(_write(tmp_path, f"{i}_{seed}", _metrics(row.arch, row.variant, 0.5 + 0.1 * seed, labels)))
    frame = tables.build_table(name, list(dict.fromkeys(files)))
    assert list(frame["Method"]) == [row.label for row in paper.rows]
    for column, i in [(c, i) for c in paper.columns for i in range(len(paper.rows))]:
        expected = paper.rows[i].values[paper.columns.index(column)]  # None: a row of ours (a control)
        actual = frame.loc[i, f"{column}_paper"]
        assert pd.isna(actual) if expected is None else actual == expected
    assert (frame["seeds"] == 2).all() and np.allclose(frame["mIoU"], 55.0) and np.allclose(frame["mIoU_sd"], 7.07)


def test_table4_tells_labelled_rows_from_unlabelled_runs_of_the_same_model(tmp_path):
    files = [
        _write(tmp_path, "plain", _metrics("fcn32s", "base", 0.40)),
        _write(tmp_path, "labelled", _metrics("fcn32s", "base", 0.48, {"source": "classifier", "tau": 0.25})),
    ]
    frame = tables.build_table("sun2018_table4", files).set_index("Method")
    assert frame.loc["FCN-32s", "mIoU"] == 40.0 and frame.loc["FCN-32s", "labels"] == "none"
    assert frame.loc["FCN-32s+image label", "mIoU"] == 48.0
    assert frame.loc["FCN-32s+image label", "labels"] == "classifier, tau=0.25"
    assert frame.loc["FCN-8s", "seeds"] == 0 and pd.isna(frame.loc["FCN-8s", "mIoU"])


def test_tables_refuse_runs_that_fit_no_row_or_mix_thresholds(tmp_path):
    stray = _write(tmp_path, "stray", _metrics("fcn8s", "discriminator", 0.4))
    with pytest.raises(ValueError, match=r"fcn8s/dis.*match no row"):
        tables.build_table("sun2018_table1", [stray])
    mixed = [_write(tmp_path, f"t{tau}", _metrics("fcn32s", "gen", 0.4, {"source": "classifier", "tau": tau}))
             for tau in (0.25, 0.5)]  # fmt: skip
    with pytest.raises(ValueError, match="several thresholds"):
        tables.build_table("sun2018_table4", mixed)


@pytest.fixture(scope="module")
def trained(tiny_caches, tmp_path_factory):
    """A briefly trained FCN-32s+generator (no labels in training) and classifier-like probabilities."""
    out = tmp_path_factory.mktemp("gen")
    model = train_fcn.train(TrainConfig(variant="gen", **FAST), tiny_caches["train"], out)
    split = CachedSplit(tiny_caches["val"])
    rng = np.random.default_rng(0)
    probabilities = np.clip(split.tags + rng.normal(0, 0.3, split.tags.shape), 0, 1).astype(np.float32)
    write_predictions({"ids": split.ids, "probabilities": probabilities}, out / "val.npz")
    return model, out / "val.npz", tiny_caches["val"]


def test_classifier_labels_at_tau_zero_change_nothing_and_high_tau_leaves_background(trained):
    model, probabilities, cache = trained
    config = EvalConfig(batch_size=3)
    plain = evaluate.evaluate(config, model, cache)
    at_zero = evaluate.evaluate(config, model, cache, probabilities, 0.0)
    assert at_zero["confusion"] == plain["confusion"]
    assert at_zero["labels"]["fusion"] == "dot" and plain["labels"] == {"source": "none"}
    above_all = np.array(evaluate.evaluate(config, model, cache, probabilities, 1.01)["confusion"])
    assert above_all[:, 1:].sum() == 0  # only background is left to predict


def test_probabilities_for_other_images_are_refused(trained, tmp_path):
    model, probabilities, cache = trained
    with np.load(probabilities) as saved:
        ids, values = list(saved["ids"]), saved["probabilities"]
    write_predictions({"ids": ids[::-1], "probabilities": values[::-1]}, tmp_path / "shuffled.npz")
    with pytest.raises(ValueError, match="shuffled.npz"):
        evaluate.evaluate(EvalConfig(), model, cache, tmp_path / "shuffled.npz", 0.5)
    assert evaluate.main(["--model", str(model), "--cache", str(cache), "--out", str(tmp_path / "m.json"),
                          "--probabilities", str(tmp_path / "shuffled.npz"), "--tau", "0.5"]) == 1  # fmt: skip
    assert not (tmp_path / "m.json").exists()


def _without_times(result: dict) -> dict:
    return {**result, "run": {key: value for key, value in result["run"].items() if key != "finished_at"}}


def test_one_command_for_a_models_results_gives_what_one_command_each_gives(trained, tmp_path):
    """The workflow's evaluation job (every result of a model from one load) against a command per result."""
    model, probabilities, cache = trained
    flags = ["--batch-size", "3", "--taus", "5"]
    assert evaluate.main(["--model", str(model), "--evaluate", str(cache), str(tmp_path / "all_val.json"),
                          "--evaluate-at-tau", str(cache), str(probabilities), "0.5", str(tmp_path / "all_tau.json"),
                          "--sweep", str(cache), str(probabilities), str(tmp_path / "all_sweep.json"), *flags]) == 0  # fmt: skip
    assert (
        evaluate.main(["--model", str(model), "--cache", str(cache), "--out", str(tmp_path / "val.json"), *flags]) == 0
    )
    assert evaluate.main(["--model", str(model), "--cache", str(cache), "--probabilities", str(probabilities),
                          "--tau", "0.5", "--out", str(tmp_path / "tau.json"), *flags]) == 0  # fmt: skip
    assert tau_sweep.main(["--model", str(model), "--cache", str(cache), "--probabilities", str(probabilities),
                           "--taus", "5", "--batch-size", "3", "--out", str(tmp_path / "sweep.json")]) == 0  # fmt: skip
    for name in ("val", "tau", "sweep"):
        together, alone = (json.loads((tmp_path / f"{stem}.json").read_text()) for stem in (f"all_{name}", name))
        assert _without_times(together) == _without_times(alone), name
    assert json.loads((tmp_path / "all_tau.json").read_text())["labels"]["tau"] == 0.5


def test_a_failing_result_leaves_none_of_the_models_results(trained, tmp_path, capsys):
    model, probabilities, cache = trained
    with np.load(probabilities) as saved:
        ids, values = list(saved["ids"]), saved["probabilities"]
    write_predictions({"ids": ids[::-1], "probabilities": values[::-1]}, tmp_path / "shuffled.npz")
    assert evaluate.main(["--model", str(model), "--evaluate", str(cache), str(tmp_path / "val.json"),
                          "--sweep", str(cache), str(tmp_path / "shuffled.npz"), str(tmp_path / "sweep.json")]) == 1  # fmt: skip
    assert not (tmp_path / "val.json").exists() and not (tmp_path / "sweep.json").exists()
    with pytest.raises(SystemExit):
        evaluate.main(["--model", str(model), "--evaluate", str(cache), "a.json", "--evaluate", str(cache), "a.json"])
    assert "an output named twice: a.json" in capsys.readouterr().err


def test_sweep_figures_start_at_the_baseline(trained, tmp_path):
    model, probabilities, cache = trained
    sweeps = []
    for seed in (0, 1):
        out = tmp_path / f"sweep{seed}.json"
        assert tau_sweep.main(["--model", str(model), "--cache", str(cache), "--probabilities", str(probabilities),
                               "--taus", "11", "--out", str(out)]) == 0  # fmt: skip
        sweeps.append(json.loads(out.read_text()))
    first = sweeps[0]["rows"][0]
    assert first["tau"] == 0 and first["mIoU"] == sweeps[0]["baseline"]["mIoU"]
    assert first["m"] + first["k"] == 21  # every class labelled
    table = figures.figure4_table(sweeps, [])
    assert len(table) == 11 and table.loc[0, "mIoU"] == pytest.approx(table.loc[0, "baseline_mIoU"], abs=1e-3)
    assert table["seeds"].tolist() == [2] * 11 and table.loc[0, "mIoU_sd"] == 0
    section3 = figures.section3_table(sweeps)
    assert section3.loc[0, "mIoU_gain"] == 0 and section3.loc[0, "removed_nats"] == 0
    # as tau rises, wrong labels (m) go and right ones (k) are lost, never the other way
    assert section3["m"].is_monotonic_decreasing and section3["k"].is_monotonic_decreasing
    assert figures.main(["figure4", "--sweeps", str(tmp_path / "sweep0.json"), "--csv", str(tmp_path / "f4.csv"),
                         "--png", str(tmp_path / "f4.png")]) == 0  # fmt: skip
    assert (tmp_path / "f4.png").read_bytes()[:4] == b"\x89PNG"


def _dis_metrics(stage, t_tr, miou_by_t_ts):
    by_t_ts = {str(t): {"scores": {"mIoU": m, "IoU": [0.9] + [m] * 20}} for t, m in miou_by_t_ts.items()}
    return {"model_run": {"settings": {"stage": stage, "t_tr": t_tr}}, "by_t_ts": by_t_ts}


def test_luo2017_tables_pick_each_rows_run_and_read_out(tmp_path):
    from tagseg.reporting.papers import LUO_TABLES

    files = [
        _write(tmp_path, "base", _dis_metrics("stage1", 0, {0: 0.30, 10: 0.99, 30: 0.99})),
        _write(tmp_path, "t5_0", _dis_metrics("stage2", 5, {0: 0.40, 10: 0.42, 30: 0.44})),
        _write(tmp_path, "t5_1", _dis_metrics("stage2", 5, {0: 0.50, 10: 0.52, 30: 0.54})),
    ]
    frame = tables.build_dis_table("luo2017_table3", files).set_index("Method")
    assert list(frame.index) == [row.label for row in LUO_TABLES["luo2017_table3"].rows]
    assert frame.loc["ResNet101", "mIoU"] == 30.0 and frame.loc["ResNet101", "mIoU_paper"] == 74.2
    assert frame.loc["3. t_tr = 5, t_ts = 10", "mIoU"] == 47.0 and frame.loc["3. t_tr = 5, t_ts = 10", "seeds"] == 2
    assert (
        frame.loc["4. t_tr = 5, t_ts = 30", "cat"] == 49.0 and frame.loc["4. t_tr = 5, t_ts = 30", "cat_paper"] == 93.3
    )
    assert frame.loc["8. t_tr = 30, t_ts = 0", "seeds"] == 0


def test_dis_grid_averages_seeds_per_cell_and_refuses_stage1():
    runs = [dict(_dis_metrics("stage2", t_tr, {0: base, 30: base + 0.1}), model=f"m{t_tr}")
            for t_tr, base in ((5, 0.4), (5, 0.5), (30, 0.6))]  # fmt: skip
    table = figures_luo2017.dis_grid_table(runs).set_index(["t_tr", "t_ts"])
    assert table.loc[(5, 0), "mIoU"] == 45.0 and table.loc[(5, 0), "seeds"] == 2
    assert table.loc[(30, 30), "mIoU"] == 70.0 and pd.isna(table.loc[(30, 30), "mIoU_sd"])
    with pytest.raises(ValueError, match="stage-1"):
        figures_luo2017.dis_grid_table([dict(_dis_metrics("stage1", 0, {0: 0.3}), model="base")])
