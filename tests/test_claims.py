"""Claims: the interval, the verdict rules, and a claim evaluated from result files built here."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from tagseg.reporting import claims as c
from tagseg.reporting import stats as s
from tagseg.reporting.claims_catalogue import known_claims
from tagseg.reporting.readme import replace_section


def test_t_quantiles_match_the_tables():
    assert s.t_quantile_975(1) == pytest.approx(12.706, abs=1e-3)
    assert s.t_quantile_975(2) == pytest.approx(4.303, abs=1e-3)
    assert s.t_quantile_975(60) == pytest.approx(2.000, abs=2e-3)  # beyond the table: the expansion
    assert s.t_quantile_975(1000) == pytest.approx(1.962, abs=2e-3)


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
    assert s.verdict(low, high, "greater") == "inconclusive"


@pytest.mark.parametrize("low, high, test, margin, expected", [
    (0.5, 2.0, "greater", 0.0, "supported"),  # clear win
    (-3.0, -0.2, "greater", 0.0, "contradicted"),  # clear loss
    (-0.5, 1.5, "greater", 0.0, "inconclusive"),  # straddles 0
    (-0.4, 0.6, "equivalent", 1.0, "supported"),  # inside the margin
    (-0.4, 1.6, "equivalent", 1.0, "inconclusive"),  # crosses the margin
    (1.2, 3.0, "equivalent", 1.0, "contradicted"),  # wholly outside it
    (-3.0, -1.0, "equivalent", 1.0, "contradicted"),
])  # fmt: skip
def test_verdict_rules(low, high, test, margin, expected):
    assert s.verdict(low, high, test, margin) == expected


def test_a_claim_of_several_comparisons_needs_all():
    assert s.combine(["supported", "supported"]) == "supported"
    assert s.combine(["supported", "inconclusive"]) == "inconclusive"
    assert s.combine(["inconclusive", "contradicted"]) == "contradicted"


def test_every_claim_the_issue_names_is_known():
    ids = {claim.id for claim in known_claims([0, 5, 10, 30], [0, 10, 30])}
    assert len(ids) == len(known_claims([0, 5, 10, 30], [0, 10, 30]))  # unique
    for expected in ("S1", "S2", "S4", "S5", "S7", "S9", "S10", "S11", "S12", "S13", "L1", "L2.5", "L3.30", "L4.0",
                     "L5", "L6", "L7", "L9.weak_clean", "L10", "L13"):  # fmt: skip
        assert expected in ids
    l5 = next(claim for claim in known_claims([0, 5, 10, 30], [0, 10, 30]) if claim.id == "L5")
    assert len(l5.comparisons) == 9  # (30, 30) against (0, 0) and the eight other cells with t_tr > 0
    assert l5.paper_effect() == pytest.approx(86.8 - 86.5)  # its closest rival in the paper, (30, 10)


def _write_fcn(results, arch, variant, seed, miou, split="val"):
    path = results / "metrics" / arch / variant / f"seed{seed}" / f"{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"scores": {"mIoU": miou}}))


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
    row = c.claims_table([ev]).iloc[0]
    assert row["paper_effect"] == pytest.approx(74.9 - 59.4)
    (tmp_path / "metrics/fcn32s/label/seed2/val.json").unlink()
    with pytest.raises(FileNotFoundError, match="seed2/val.json.*S1"):
        c.evaluate(s1, sources, [0, 1, 2], [0, 30], [0, 30])
    with pytest.raises(ValueError, match="fcn/fcn32s/label/val: 2 files for 3 seeds"):
        c.evaluate(s1, {**sources, "fcn/fcn32s/label/val": sources["fcn/fcn32s/label/val"][:2]}, [0, 1, 2], [0, 30], [0, 30])


def test_claims_on_runs_the_grid_lacks_are_not_run(tmp_path):
    l5 = next(claim for claim in known_claims([0, 5, 30], [0, 30]) if claim.id == "L5")
    assert c.evaluate(l5, {}, [0], [0, 5], [0, 30]).verdict == "not run"


def test_readme_section_is_generated_between_markers(tmp_path):
    table = pd.DataFrame([{"id": "S1", "paper": "sun2018", "where": "Table 1", "statement": "x beats y.",
                           "paper_effect": 15.5, "effect": 5.0, "ci_low": 2.0, "ci_high": 8.0, "seeds": 3,
                           "verdict": "supported"}])  # fmt: skip
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n\n## What reproduces\n\n{c.README_START}\nold\n{c.README_END}\n\n## Next\n")
    replace_section(readme, c.readme_section(table), c.README_START, c.README_END)
    text = readme.read_text()
    assert "old" not in text and "| S1 | sun2018 Table 1 | x beats y. | +15.5 | +5.0 [+2.0, +8.0] | supported |" in text
    assert text.endswith("## Next\n") and "1 supported" in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        replace_section(readme, c.readme_section(table), c.README_START, c.README_END)


def test_a_generator_claim_is_judged_against_the_baseline_and_the_compute_matched_control(tmp_path):
    """A gain over the baseline that the control, given as many updates, also makes is shown as such."""
    claims = {claim.id: claim for claim in known_claims([0, 30], [0, 30])}
    s2 = claims["S2"]
    assert [b.variant for _, b in s2.controls] == ["base_2x"] and [b.variant for _, b in s2.comparisons] == ["base"]
    assert [b.run for _, b in claims["L1"].controls] == ["continued"] and claims["L10"].controls
    assert not claims["S5"].controls  # generator against discriminator: both make two updates
    for seed, (base, gen, control) in enumerate([(0.40, 0.45, 0.47), (0.42, 0.46, 0.49), (0.38, 0.44, 0.46)]):
        for variant, miou in (("base", base), ("gen", gen), ("base_2x", control)):
            _write_fcn(tmp_path, "fcn32s", variant, seed, miou)
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
