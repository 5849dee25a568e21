"""Listeners of the triage layer for the apps below, connected in TriageConfig.ready()."""

from __future__ import annotations

from tickets import signals


def on_demo_loaded(sender, end=None, stdout=None, **kwargs) -> None:
    """`seed_demo` loaded the demo history: add the weekly review's part (this week's and last week's story)."""
    from triage.review.demo import review_demo_seed

    summary = review_demo_seed(end=end)
    if stdout is not None:
        stdout.write(summary)


def connect() -> None:
    signals.demo_loaded.connect(on_demo_loaded, dispatch_uid="triage.review.demo")
