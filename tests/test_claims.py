"""Claims: the interval, the verdict rules, and a claim evaluated from result files built here."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from scipy.stats import t as stats_t

from tagseg.reporting import claims as c
from tagseg.reporting import stats as s
from tagseg.reporting.claims_catalogue import known_claims
from tagseg.reporting.readme import replace_section


def test_t_quantiles_are_scipys():
    assert s.t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    assert s.t_quantile(0.975, 2) == pytest.approx(4.3027, abs=1e-4)
    assert s.t_quantile(0.975, math.inf) == pytest.approx(1.95996, abs=1e-5)


def test_paired_interval_by_hand():
    # differences 2, 3, 4: mean 3, sd 1, half-width t(0.975, 2) / sqrt(3) = 4.3027 / 1.7321 = 2.4842
    mean, low, high = s.paired_interval([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])
    assert mean == pytest.approx(3.0)
    assert (low, high) == (pytest.approx(0.5158, abs=1e-4), pytest.approx(5.4842, abs=1e-4))


def test_paired_interval_is_paired_not_pooled():
    # a large between-seed spread shared by both runs cancels in the paired difference
    mean, low, high = s.paired_interval([50.0, 70.0, 90.0], [49.0, 69.1, 88.9])
    assert mean == pytest.approx(1.0, abs=1e-9)
    assert low > 0.5 and high < 1.5


def test_one_seed_gives_no_interval_and_no_verdict():
    mean, low, high = s.paired_interval([2.0], [1.0])
    assert mean == 1.0 and math.isnan(low) and math.isnan(high)
    est = s.estimate(np.array([1.0]), np.zeros((10, 1)))
    assert math.isnan(est.interval()[0]) and s.verdict(*s.p_values([est], "greater")) == "inconclusive"


def _est(effect: float, se: float, seeds: int = 3) -> s.Estimate:
    """An estimate with standard error ``se`` on seeds - 1 degrees of freedom (no test-image part)."""
    return s.Estimate(effect, seeds, v_seed=se**2, v_image=0.0)


@pytest.mark.parametrize("effect, se, test, margin, expected", [
    (3.0, 0.5, "greater", 0.0, "supported"),  # [0.85, 5.15]: above 0
    (-3.0, 0.5, "greater", 0.0, "contradicted"),
    (0.5, 0.5, "greater", 0.0, "inconclusive"),  # straddles 0
    (0.05, 0.1, "equivalent", 1.0, "supported"),  # [-0.38, 0.48]: inside the margin
    (0.5, 0.3, "equivalent", 1.0, "inconclusive"),  # [-0.79, 1.79]: crosses it
    (3.0, 0.3, "equivalent", 1.0, "contradicted"),  # [1.71, 4.29]: wholly beyond it
    (-3.0, 0.3, "equivalent", 1.0, "contradicted"),
])  # fmt: skip
def test_verdicts_of_one_comparison_follow_its_interval(effect, se, test, margin, expected):
    est = _est(effect, se)
    assert s.verdict(*s.p_values([est], test, margin)) == expected
    low, high = est.interval()
    if test == "greater":  # the p-values and the 95% interval say the same thing
        assert (expected == "supported") == (low > 0) and (expected == "contradicted") == (high < 0)
    else:
        assert (expected == "supported") == (-margin < low and high < margin)


def test_best_of_several_is_an_intersection_union_test():
    strong, weak = _est(3.0, 0.5), _est(0.5, 0.5)
    assert s.verdict(*s.p_values([strong, strong, strong], "greater")) == "supported"
    assert s.verdict(*s.p_values([strong, strong, weak], "greater")) == "inconclusive"  # every one must hold
    # one rival ahead at one-sided p = 0.015 contradicts a lone comparison, but not one of three:
    # 3 * 0.015 = 0.045 > 0.025 (Bonferroni over the comparisons that could each contradict it by chance)
    behind = _est(-2.1701 * 1.0, 1.0, seeds=100_001)
    assert s.p_values([behind], "greater")[1] == pytest.approx(0.015, abs=1e-4)
    assert s.verdict(*s.p_values([behind], "greater")) == "contradicted"
    assert s.verdict(*s.p_values([strong, strong, behind], "greater")) == "inconclusive"
    assert s.verdict(*s.p_values([strong, strong, _est(-5.0, 1.0, seeds=100_001)], "greater")) == "contradicted"


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): 4 x 0.005 = 0.02; 3 x 0.01 = 0.03; 2 x 0.03 = 0.06;
    # 1 x 0.04 = 0.04, raised to the running maximum 0.06
    assert s.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = s.holm([math.nan, 0.02, 0.5])  # an untested claim is not in the family: m = 2
    assert math.isnan(adjusted[0]) and adjusted[1:] == pytest.approx([0.04, 0.5])
    assert (
        s.adjusted_verdict("supported", 0.04) == "supported" and s.adjusted_verdict("supported", 0.06) == "inconclusive"
    )
    assert s.adjusted_verdict("contradicted", 0.01) == "contradicted"


def test_holm_runs_within_each_papers_family_of_testable_claims():
    claims = {claim.id: claim for claim in known_claims([0, 30], [0, 30])}

    def judged(claim_id: str, p_support: float, testable: bool = True) -> c.Evaluation:
        est = _est(1.0, 0.1)
        judgement = c.Judgement([est], 0, p_support, 1.0, s.verdict(p_support, 1.0), math.nan, None)
        return c.Evaluation(claims[claim_id], seeds=3, main=judgement, testable=testable)

    evaluations = [judged("S1", 0.004), judged("S2", 0.012), judged("S5", 0.001, testable=False), judged("S9", 0.001),
                   judged("L1", 0.012)]  # fmt: skip
    c.adjust(evaluations)
    # sun2018's family holds S1 and S2 (S5 is not testable here, S9 a sanity check): 2 x 0.008, then 0.024
    assert evaluations[0].main.p_holm == pytest.approx(0.016) and evaluations[1].main.p_holm == pytest.approx(0.024)
    assert math.isnan(evaluations[2].main.p_holm) and math.isnan(evaluations[3].main.p_holm)
    assert evaluations[4].main.p_holm == pytest.approx(0.024)  # luo2017's family: L1 alone
    assert [ev.verdict_holm for ev in evaluations] == ["supported", "supported", "not testable here", "supported",
                                                       "supported"]  # fmt: skip


def test_every_claim_the_issue_names_is_known():
    ids = {claim.id for claim in known_claims([0, 5, 10, 30], [0, 10, 30])}
    assert len(ids) == len(known_claims([0, 5, 10, 30], [0, 10, 30]))  # unique
    for expected in ("S1", "S2", "S4", "S5", "S7", "S9", "S10", "S11", "S12", "S13", "L1", "L2.5", "L3.30", "L4.0",
                     "L5", "L6", "L7", "L9.weak_clean", "L10", "L13"):  # fmt: skip
        assert expected in ids
    l5 = next(claim for claim in known_claims([0, 5, 10, 30], [0, 10, 30]) if claim.id == "L5")
    assert len(l5.comparisons) == 9  # (30, 30) against (0, 0) and the eight other cells with t_tr > 0
    assert l5.paper_effect() == pytest.approx(86.8 - 86.5)  # its closest rival in the paper, (30, 10)


def _write_fcn(results, arch, variant, seed, miou, split="val", visible=None, intersection=None, union=None):
    """A result file as tagseg.sun2018.evaluate_fcn writes it: scores, and two images' counts of one class
    (by default each image at the split's mIoU, so the images add no variance)."""
    intersection = [[50 * miou], [50 * miou]] if intersection is None else intersection
    union = [[50], [50]] if union is None else union
    path = results / "metrics" / arch / variant / f"seed{seed}" / f"{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"scores": {"mIoU": miou}, "image_ids": ["a", "b"], "per_image": {"intersection": intersection, "union": union},
               "reconstruction_visible_errors": visible, "split": str(path)}  # fmt: skip
    path.write_text(json.dumps(payload))
    return path


def test_a_claim_from_result_files(tmp_path):
    s1 = next(claim for claim in known_claims([0, 30], [0, 30]) if claim.id == "S1")
    for seed, (base, label) in enumerate([(0.40, 0.45), (0.42, 0.48), (0.38, 0.44)]):
        _write_fcn(tmp_path, "fcn32s", "base", seed, base)
        _write_fcn(tmp_path, "fcn32s", "label", seed, label)
    sources = {f"fcn/fcn32s/{variant}/val": [tmp_path / f"metrics/fcn32s/{variant}/seed{seed}/val.json" for seed in range(3)]
               for variant in ("base", "label")}  # fmt: skip
    assert {m.source for pair in s1.comparisons for m in pair} == set(sources)
    ev = c.evaluate(s1, sources, [0, 1, 2], [0, 30], [0, 30])
    assert ev.effect == pytest.approx(100 * (0.05 + 0.06 + 0.06) / 3)
    assert ev.verdict == "supported" and ev.seeds == 3
    assert ev.main.estimates[0].v_image == pytest.approx(0.0)  # each image scores the split's mIoU
    row = c.claims_table([ev]).iloc[0]
    assert row["paper_effect"] == pytest.approx(74.9 - 59.4)
    (tmp_path / "metrics/fcn32s/label/seed2/val.json").unlink()
    with pytest.raises(FileNotFoundError, match="seed2/val.json.*S1"):
        c.evaluate(s1, sources, [0, 1, 2], [0, 30], [0, 30])
    with pytest.raises(ValueError, match="fcn/fcn32s/label/val: 2 files for 3 seeds"):
        c.evaluate(
            s1, {**sources, "fcn/fcn32s/label/val": sources["fcn/fcn32s/label/val"][:2]}, [0, 1, 2], [0, 30], [0, 30]
        )


def test_claims_on_runs_the_grid_lacks_are_not_run(tmp_path):
    l5 = next(claim for claim in known_claims([0, 5, 30], [0, 30]) if claim.id == "L5")
    assert c.evaluate(l5, {}, [0], [0, 5], [0, 30]).verdict == "not run"


def test_readme_section_is_generated_between_markers(tmp_path):
    base = {"paper": "sun2018", "where": "Table 1", "paper_effect": 15.5, "effect": 5.0, "ci_low": 2.0, "ci_high": 8.0,
            "seeds": 3, "detectable_effect": 4.2, "control_verdict": None, "precondition": None,
            "precondition_measured": None}  # fmt: skip
    table = pd.DataFrame([
        {**base, "id": "S1", "kind": "claim", "statement": "x beats y.", "verdict": "supported", "verdict_holm": "supported"},
        {**base, "id": "S10", "kind": "claim", "statement": "labels help.", "verdict": "not testable here",
         "verdict_holm": "not testable here", "precondition": "classifier val mAP >= 85", "precondition_measured": 61.3},
        {**base, "id": "S9", "kind": "sanity", "statement": "tau = 0 is the baseline.", "verdict": "supported",
         "verdict_holm": "supported"},
    ])  # fmt: skip
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n\n## What reproduces\n\n{c.README_START}\nold\n{c.README_END}\n\n## Next\n")
    replace_section(readme, c.readme_section(table), c.README_START, c.README_END)
    text = readme.read_text()
    assert (
        "\nold\n" not in text
        and "| S1 | sun2018 Table 1 | x beats y. | +15.5 | +5.0 [+2.0, +8.0] | supported / supported | 4.2 |" in text
    )
    # each kind in a block of its own, the untestable claim with its precondition's measured value
    claims, untestable, sanity = (
        text.index("**Claims**"),
        text.index("**Not testable here**"),
        text.index("**Sanity checks**"),
    )
    assert claims < text.index("| S1 |") < untestable < text.index("| S10 |") < sanity < text.index("| S9 |")
    assert "classifier val mAP >= 85 | 61.3 |" in text
    assert text.endswith("## Next\n") and "Of 2 claims" in text and "1 sanity checks apart" in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        replace_section(readme, c.readme_section(table), c.README_START, c.README_END)


def test_the_readmes_first_screen_summary_counts_each_papers_verdicts_after_holm():
    rows = [("S1", "sun2018", "supported"), ("S2", "sun2018", "inconclusive"), ("S3", "sun2018", "not testable here"),
            ("L1", "luo2017", "contradicted"), ("S9", "sun2018", "supported")]  # fmt: skip
    table = pd.DataFrame([{"id": i, "paper": paper, "kind": "sanity" if i == "S9" else "claim", "verdict_holm": v,
                           "seeds": 3} for i, paper, v in rows])  # fmt: skip
    summary = c.readme_summary(table)
    assert summary.startswith(c.SUMMARY_START) and summary.endswith(c.SUMMARY_END)
    assert "| luo2017 | 1 | 0 | 1 | 0 | 0 | L1 contradicted |" in summary  # luo2017 first; sanity checks apart
    assert "| sun2018 | 3 | 1 | 0 | 1 | 1 | S1 supported |" in summary and "3 seeds" in summary


def test_the_two_level_interval_by_hand(tmp_path):
    """Two seeds, two test images of one class; every resample of the images enumerated (ordered draws
    11, 12, 21, 22: counts (2, 0), (1, 1), (1, 1), (0, 2)), so the bootstrap's variance is computed by hand."""
    s1 = next(claim for claim in known_claims([0, 30], [0, 30]) if claim.id == "S1")
    counts = {  # (seed, variant): (intersections, unions) of images 1 and 2
        (0, "label"): ((1, 3), (2, 4)), (0, "base"): ((1, 2), (4, 4)),
        (1, "label"): ((2, 1), (3, 2)), (1, "base"): ((1, 1), (3, 2)),
    }  # fmt: skip
    for (seed, variant), (inter, union) in counts.items():
        _write_fcn(tmp_path, "fcn32s", variant, seed, sum(inter) / sum(union),
                   intersection=[[inter[0]], [inter[1]]], union=[[union[0]], [union[1]]])  # fmt: skip
    sources = {f"fcn/fcn32s/{v}/val": [tmp_path / f"metrics/fcn32s/{v}/seed{seed}/val.json" for seed in (0, 1)]
               for v in ("base", "label")}  # fmt: skip
    reader = c.Reader(sources, [0, 1])
    reader.weights[("a", "b")] = np.array([[2, 0], [1, 1], [1, 1], [0, 2]], dtype=float)
    ev = c.evaluate(s1, reader, [0, 1], [0, 30], [0, 30])
    # per seed, label - base at counts (2, 0), (1, 1), (0, 2):
    #   seed 0: 1/2 - 1/4,  4/6 - 3/8,  3/4 - 2/4  =  1/4, 7/24, 1/4
    #   seed 1: 2/3 - 1/3,  3/5 - 2/5,  1/2 - 1/2  =  1/3, 1/5,  0
    # seed means at the four draws: 7/24, 59/240, 59/240, 1/8; the full set is (1, 1): effect 59/240
    draws = np.array([7 / 24, 59 / 240, 59 / 240, 1 / 8]) * 100
    v_image = draws.var(ddof=1)
    v_seed = (100 * (7 / 24 - 1 / 5)) ** 2 / 2 / 2  # var of (7/24, 1/5) over 2 seeds, / 2
    est = ev.main.estimates[0]
    assert est.effect == pytest.approx(100 * 59 / 240)
    assert (est.v_seed, est.v_image) == (pytest.approx(v_seed), pytest.approx(v_image))
    half = stats_t.ppf(0.975, 1) * math.sqrt(v_seed + v_image)  # the seeds' one degree of freedom
    assert est.interval() == (pytest.approx(est.effect - half), pytest.approx(est.effect + half))
    assert est.seed_interval() == pytest.approx(s.paired_interval([100 * 7 / 24, 20.0], [0.0, 0.0])[1:])
    assert est.interval()[1] - est.interval()[0] > est.seed_interval()[1] - est.seed_interval()[0]


def test_a_claim_whose_precondition_fails_is_not_testable_here(tmp_path):
    s2 = next(claim for claim in known_claims([0, 30], [0, 30]) if claim.id == "S2")
    assert s2.precondition.measure.source == "fcn/fcn32s/base/val" and s2.precondition.required == 50.0
    sources = {}
    for visible, expected in ((0.30, "not testable here"), (0.70, "supported")):
        for seed, (base, gen, control) in enumerate([(0.40, 0.45, 0.41), (0.42, 0.46, 0.43), (0.38, 0.44, 0.39)]):
            for variant, miou in (("base", base), ("gen", gen), ("base_2x", control)):
                _write_fcn(tmp_path, "fcn32s", variant, seed, miou, visible=visible)
        sources = {f"fcn/fcn32s/{v}/val": [tmp_path / f"metrics/fcn32s/{v}/seed{seed}/val.json" for seed in range(3)]
                   for v in ("base", "gen", "base_2x")}  # fmt: skip
        ev = c.evaluate(s2, sources, [0, 1, 2], [0, 30], [0, 30])
        c.adjust([ev])
        row = c.claims_table([ev]).iloc[0]
        assert ev.precondition_measured == pytest.approx(100 * visible)
        assert row["verdict"] == row["verdict_holm"] == row["control_verdict"] == expected
        assert row["precondition_measured"] == pytest.approx(100 * visible) and row["effect"] > 0  # shown either way


def test_a_generator_claim_is_judged_against_the_baseline_and_the_compute_matched_control(tmp_path):
    """A gain over the baseline that the control, given as many updates, also makes is shown as such."""
    claims = {claim.id: claim for claim in known_claims([0, 30], [0, 30])}
    s2 = claims["S2"]
    assert [b.variant for _, b in s2.controls] == ["base_2x"] and [b.variant for _, b in s2.comparisons] == ["base"]
    assert [b.run for _, b in claims["L1"].controls] == ["continued"] and claims["L10"].controls
    assert not claims["S5"].controls  # generator against discriminator: both make two updates
    for seed, (base, gen, control) in enumerate([(0.40, 0.45, 0.47), (0.42, 0.46, 0.49), (0.38, 0.44, 0.46)]):
        for variant, miou in (("base", base), ("gen", gen), ("base_2x", control)):
            _write_fcn(tmp_path, "fcn32s", variant, seed, miou, visible=0.9)
    sources = {f"fcn/fcn32s/{variant}/val": [tmp_path / f"metrics/fcn32s/{variant}/seed{seed}/val.json" for seed in range(3)]
               for variant in ("base", "gen", "base_2x")}  # fmt: skip
    ev = c.evaluate(s2, sources, [0, 1, 2], [0, 30], [0, 30])
    assert ev.verdict == "supported" and ev.control.verdict == "contradicted"
    row = c.claims_table([ev]).iloc[0]
    assert row["verdict"] == "supported" and row["control_verdict"] == "contradicted"
    assert row["control_effect"] == pytest.approx(100 * (-0.02 - 0.03 - 0.02) / 3, abs=0.005)  # rounded to 2 places
    assert "2x updates (control)" in row["control_comparison"]
    assert "contradicted |" in c.readme_section(c.claims_table([ev]))
    s1 = c.claims_table([c.Evaluation(claims["S1"])]).iloc[0]
    assert pd.isna(s1["control_verdict"])  # no confound, no control


def test_a_result_file_without_per_image_results_is_named(tmp_path, capsys):
    for seed in range(2):
        for variant, miou in (("base", 0.40), ("label", 0.45)):
            path = _write_fcn(tmp_path, "fcn32s", variant, seed, miou)
    old = json.loads(path.read_text())
    del old["per_image"]
    path.write_text(json.dumps(old))
    args = ["table", "--seeds", "0", "1", "--tau", "0.25", "--t-tr", "0", "30", "--t-ts", "0", "30", "--splits", "val",
            "--csv", str(tmp_path / "claims.csv")]  # fmt: skip
    for variant in ("base", "label"):
        args += ["--source", f"fcn/fcn32s/{variant}/val",
                 *[str(tmp_path / f"metrics/fcn32s/{variant}/seed{seed}/val.json") for seed in range(2)]]  # fmt: skip
    assert c.main(args) == 1
    assert f"{path}: no per-image results ('per_image'); written by an older version" in capsys.readouterr().err
    assert not (tmp_path / "claims.csv").exists()


def test_the_figure_has_a_panel_per_paper_and_metric(tmp_path):
    """Rows of two papers and two metrics, one of them a sanity check with no interval: one panel each."""
    from PIL import Image

    row = {"paper_effect": 1.0, "effect": 0.5, "ci_low": -0.5, "ci_high": 1.5, "seed_ci_low": -0.2, "seed_ci_high": 1.2,
           "verdict_holm": "inconclusive", "where": "Table 1"}  # fmt: skip
    table = pd.DataFrame([
        {**row, "id": "S1", "paper": "sun2018", "metric": "mIoU", "kind": "claim"},
        {**row, "id": "S9", "paper": "sun2018", "metric": "mIoU", "kind": "sanity", "ci_low": None, "ci_high": None,
         "seed_ci_low": None, "seed_ci_high": None, "verdict_holm": "supported"},
        {**row, "id": "L1", "paper": "luo2017", "metric": "mIoU", "kind": "claim", "verdict_holm": "not testable here"},
        {**row, "id": "L7", "paper": "luo2017", "metric": "tag F1", "kind": "claim", "effect": -60.0},
    ])  # fmt: skip
    out = tmp_path / "claims.png"
    assert c.plot_claims(table, out) == [("sun2018", "mIoU"), ("luo2017", "mIoU"), ("luo2017", "tag F1")]
    with Image.open(out) as image:
        assert image.format == "PNG"
