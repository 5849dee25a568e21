"""Simulated fixes with a known true effect: the verdicts a product lead would read."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from metrics.impact import Verdict, estimate, min_baseline_tickets, rate_ratio
from tests.metrics.simulate import (
    Scenario,
    constant,
    demo_scenario,
    random_scenario,
    short_lived_drop,
    simulate,
    slow_decline,
)


def verdicts(scenario: Scenario, runs: int = 20, seed: int = 7, **kwargs) -> collections.Counter:
    rng = np.random.default_rng(seed)
    return collections.Counter(simulate(scenario, rng, **kwargs).verdict for _ in range(runs))


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (Scenario(20, constant(0.02)), Verdict.COMPLETE),
        (Scenario(4, constant(0.0)), Verdict.COMPLETE),
        (Scenario(15, constant(0.2)), Verdict.EFFECTIVE),
        (Scenario(15, constant(0.5)), Verdict.PARTIAL),
        (Scenario(25, slow_decline(0.9)), Verdict.PARTIAL),
        (Scenario(12, constant(1.0)), Verdict.NO_CHANGE),
        (Scenario(12, constant(0.9)), Verdict.NO_CHANGE),
        (Scenario(10, constant(2.0)), Verdict.WORSE),
        (Scenario(10, short_lived_drop(0.95, weeks=1)), Verdict.REGRESSED),
        (Scenario(8, short_lived_drop(0.9, weeks=2)), Verdict.REGRESSED),
        (Scenario(0.15, constant(0.0)), Verdict.INSUFFICIENT_DATA),
    ],
    ids=[
        "complete",
        "complete-few-per-day",
        "effective",
        "partial",
        "slow-decline-is-partial",
        "no-change",
        "10pct-is-no-change",
        "worse",
        "short-lived-drop-regressed",
        "two-week-drop-regressed",
        "sparse-insufficient",
    ],
)
def test_simulated_fix_gets_the_verdict_of_its_true_effect(scenario, expected):
    counts = verdicts(scenario)
    assert counts[expected] >= 18, counts


def test_company_wide_dip_at_the_deploy_is_not_read_as_a_fix():
    holiday = constant(1.0)
    holiday[:14] = 0.3  # everybody files 70% fewer tickets for two weeks after the deploy
    dip = Scenario(12, constant(1.0), company=holiday)
    assert verdicts(dip)[Verdict.NO_CHANGE] >= 18
    # Without the control series the same data looks like a fix: the control is what saves us.
    assert verdicts(dip, use_control=False)[Verdict.NO_CHANGE] <= 10


def test_company_wide_surge_does_not_hide_a_real_fix():
    surge = constant(1.6)
    assert verdicts(Scenario(15, constant(0.2), company=surge))[Verdict.EFFECTIVE] >= 17


def test_weekday_mix_of_a_partial_window_is_adjusted():
    # Deploy on a Friday: the first 9 days after hold two weekends, the baseline four; no effect.
    weekend_heavy = Scenario(10, constant(1.0), days_after=9, deploy_weekday=4)
    rng = np.random.default_rng(3)
    results = [simulate(weekend_heavy, rng) for _ in range(20)]
    assert all(r.verdict == Verdict.PENDING for r in results)
    assert collections.Counter(r.provisional_verdict for r in results)[Verdict.NO_CHANGE] >= 18


def test_pending_before_30_days_with_a_provisional_read_after_7():
    rng = np.random.default_rng(5)
    early = simulate(Scenario(15, constant(0.05), days_after=5), rng)
    assert early.verdict == Verdict.PENDING and early.provisional_verdict == ""
    assert "5 of 30 days" in early.reason
    later = simulate(Scenario(15, constant(0.05), days_after=12), rng)
    assert later.verdict == Verdict.PENDING and later.provisional_verdict == Verdict.COMPLETE
    assert later.reason.startswith("Provisional after 12 of 30 days")


def test_insufficient_data_says_how_many_baseline_tickets_were_needed():
    result = estimate([0, 1, 0, 0, 0, 0] * 5, [0] * 30, deploy_weekday=0)
    assert result.verdict == Verdict.INSUFFICIENT_DATA
    assert result.min_baseline_tickets == min_baseline_tickets() == 10
    assert "Only 5 tickets" in result.reason and "at least 10 are needed" in result.reason
    # Ten tickets and none after: enough to show the fix removed at least 70% of them.
    assert estimate([0, 1, 0] * 10, [0] * 30, deploy_weekday=0).verdict == Verdict.COMPLETE


def test_interval_of_a_rate_ratio_covers_the_truth_and_handles_zero():
    rr = rate_ratio(0, 30, 120, 30)
    assert rr.ratio == 0 and 0 < rr.high < 0.05
    rr = rate_ratio(50, 30, 100, 30)
    assert rr.low < 0.5 < rr.high and rr.significantly_fewer


def test_result_keeps_the_figures_a_lead_reads():
    rng = np.random.default_rng(11)
    result = simulate(Scenario(20, constant(0.2)), rng)
    assert result.verdict == Verdict.EFFECTIVE
    assert result.change_low_pct < result.change_pct < result.change_high_pct < 0
    assert result.first_week_change_pct < -60
    assert len(result.dow_profile) == 7 and result.dow_profile[0] > result.dow_profile[6]
    assert result.before_per_day > 15 and result.after_per_day < 6
    assert len(result.band_after) == 30 and all(low <= high for low, high in result.band_after)
    assert result.control_used


def test_accuracy_over_simulated_fixes(capsys):
    """A few hundred fixes of every kind at 2-40 tickets a day (sparse ones below 0.5 a day)."""
    rng = np.random.default_rng(2026)
    runs, right = 400, 0
    confusion = collections.Counter()
    for _ in range(runs):
        truth, scenario = random_scenario(rng)
        verdict = simulate(scenario, rng).verdict
        right += verdict == truth
        confusion[(truth, verdict)] += 1
    accuracy = right / runs
    with capsys.disabled():
        print(f"\nfix-impact simulation: {right}/{runs} verdicts right ({accuracy:.1%})")
    assert accuracy >= 0.95, confusion


def test_accuracy_at_demo_volumes(capsys):
    """Fixes with 20-100 baseline tickets (a few a day) and the demo's effects: the verdicts are mostly
    right, and when wrong they are a neighbouring band, never the opposite direction."""
    rng = np.random.default_rng(6000)
    runs, right = 300, 0
    confusion = collections.Counter()
    for _ in range(runs):
        truth, scenario = demo_scenario(rng)
        verdict = simulate(scenario, rng).verdict
        right += verdict == truth
        confusion[(truth, verdict)] += 1
    accuracy = right / runs
    with capsys.disabled():
        print(f"\nfix-impact at demo volumes: {right}/{runs} verdicts right ({accuracy:.1%})")
    assert accuracy >= 0.85, confusion
    successes = (Verdict.COMPLETE, Verdict.EFFECTIVE)
    assert not any(t == Verdict.NO_CHANGE and v in successes and n for (t, v), n in confusion.items()), confusion
    assert not any(t in successes and v in (Verdict.WORSE, Verdict.NO_CHANGE) and n for (t, v), n in confusion.items())
