"""Bug clusters: their lifecycle and triage, people's corrections, volume alerts and evidence patterns."""
