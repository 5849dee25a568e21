"""Customer accounts for customer success: risk signals with evidence, at-risk alerts and handoffs."""
