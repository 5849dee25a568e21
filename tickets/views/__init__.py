"""Agent-facing pages: filing a report, My reports, and the cluster page."""
