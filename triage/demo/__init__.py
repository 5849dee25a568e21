"""Demo data: a realistic fictional SaaS support history for trying and benchmarking the product.

Entry points: `demo_seed()` and `demo_reset()` in `triage.demo.seed`, used by
`manage.py seed_demo`. The true effects of the demo's fixes are in
`triage.demo.bugs.DEMO_FIX_EFFECTS` (see docs/demo-data.md).
"""
