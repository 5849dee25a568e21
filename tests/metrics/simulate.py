"""Simulated fixes: Poisson daily counts with a weekly rhythm and a known true effect."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrics.impact import WINDOW_DAYS, ImpactResult, Verdict, estimate

WEEKLY = np.array([1.2, 1.15, 1.1, 1.1, 1.0, 0.55, 0.5])  # Monday..Sunday
WEEKLY = WEEKLY / WEEKLY.mean()


@dataclass
class Scenario:
    """One fix to simulate: the cluster's baseline rate and what really happens after the deploy."""

    per_day: float
    effect: np.ndarray  # multiplier per after-day (1 = no change, 0.1 = 90% fewer)
    company: np.ndarray | None = None  # organisation-wide multiplier per after-day (holiday, surge)
    control_per_day: float = 300.0
    days_after: int = WINDOW_DAYS
    deploy_weekday: int = 2


def constant(multiplier: float) -> np.ndarray:
    return np.full(WINDOW_DAYS, multiplier)


def short_lived_drop(drop: float = 0.9, weeks: int = 1) -> np.ndarray:
    effect = np.ones(WINDOW_DAYS)
    effect[: 7 * weeks] = 1 - drop
    return effect


def slow_decline(final_reduction: float = 0.9) -> np.ndarray:
    return 1 - np.linspace(0, final_reduction, WINDOW_DAYS)


def simulate(scenario: Scenario, rng: np.random.Generator, *, use_control: bool = True) -> ImpactResult:
    wd_before = (scenario.deploy_weekday - WINDOW_DAYS + np.arange(WINDOW_DAYS)) % 7
    wd_after = (scenario.deploy_weekday + 1 + np.arange(WINDOW_DAYS)) % 7
    company = scenario.company if scenario.company is not None else np.ones(WINDOW_DAYS)
    before = rng.poisson(scenario.per_day * WEEKLY[wd_before])
    after = rng.poisson(scenario.per_day * WEEKLY[wd_after] * company * scenario.effect)
    control_before = rng.poisson(scenario.control_per_day * WEEKLY[wd_before])
    control_after = rng.poisson(scenario.control_per_day * WEEKLY[wd_after] * company)
    n = scenario.days_after
    return estimate(
        before,
        after[:n],
        deploy_weekday=scenario.deploy_weekday,
        control_before=control_before if use_control else None,
        control_after=control_after[:n] if use_control else None,
    )


def random_scenario(rng: np.random.Generator) -> tuple[str, Scenario]:
    """A fix drawn from the kinds a support organisation sees, with its true verdict."""
    kind = rng.choice(
        ["complete", "effective", "partial", "slow_decline", "no_change", "company_dip", "worse", "regressed", "sparse"]
    )
    per_day = float(np.exp(rng.uniform(np.log(2), np.log(40))))  # 60 to 1,200 baseline tickets
    weekday = int(rng.integers(7))
    if kind == "complete":
        return Verdict.COMPLETE, Scenario(per_day, constant(1 - rng.uniform(0.94, 1.0)), deploy_weekday=weekday)
    if kind == "effective":
        return Verdict.EFFECTIVE, Scenario(per_day, constant(1 - rng.uniform(0.75, 0.85)), deploy_weekday=weekday)
    if kind == "partial":
        return Verdict.PARTIAL, Scenario(per_day, constant(1 - rng.uniform(0.4, 0.6)), deploy_weekday=weekday)
    if kind == "slow_decline":
        return Verdict.PARTIAL, Scenario(per_day, slow_decline(rng.uniform(0.8, 1.0)), deploy_weekday=weekday)
    if kind == "no_change":
        return Verdict.NO_CHANGE, Scenario(per_day, constant(rng.uniform(0.9, 1.1)), deploy_weekday=weekday)
    if kind == "company_dip":
        dip = constant(1.0)
        dip[: int(rng.integers(7, 15))] = rng.uniform(0.3, 0.6)
        return Verdict.NO_CHANGE, Scenario(per_day, constant(1.0), company=dip, deploy_weekday=weekday)
    if kind == "worse":
        return Verdict.WORSE, Scenario(per_day, constant(rng.uniform(1.8, 2.5)), deploy_weekday=weekday)
    if kind == "regressed":
        drop = short_lived_drop(rng.uniform(0.8, 1.0), weeks=int(rng.integers(1, 3)))
        return Verdict.REGRESSED, Scenario(max(per_day, 4.0), drop, deploy_weekday=weekday)
    return Verdict.INSUFFICIENT_DATA, Scenario(float(rng.uniform(0.05, 0.2)), constant(0.2), deploy_weekday=weekday)


def demo_scenario(rng: np.random.Generator) -> tuple[str, Scenario]:
    """A fix as the demo data seeds them: 20-100 baseline tickets, a thin organisation-wide volume."""
    kind = rng.choice(["complete", "effective", "partial", "gradual", "failed", "regression", "company_dip"])
    per_day = float(rng.uniform(0.7, 3.3))
    weekday = int(rng.choice([1, 2, 3]))  # deploys go out Tuesday to Thursday
    common = {"control_per_day": 25.0, "deploy_weekday": weekday}
    if kind == "complete":
        return Verdict.COMPLETE, Scenario(per_day, constant(0.05), **common)
    if kind == "effective":
        return Verdict.EFFECTIVE, Scenario(per_day, constant(0.2), **common)
    if kind == "partial":
        return Verdict.PARTIAL, Scenario(per_day, constant(0.5), **common)
    if kind == "gradual":
        effect = 1 - 0.5 * np.minimum(1.0, (np.arange(WINDOW_DAYS) + 1) / 14)
        return Verdict.PARTIAL, Scenario(per_day, effect, **common)
    if kind == "failed":
        return Verdict.NO_CHANGE, Scenario(per_day, constant(1.0), **common)
    if kind == "regression":
        effect = constant(1.05)
        effect[:7] = 0.1
        return Verdict.REGRESSED, Scenario(per_day, effect, **common)
    dip = constant(1.0)
    dip[:7] = 0.5
    return Verdict.NO_CHANGE, Scenario(per_day, constant(1.0), company=dip, **common)
