"""Intake: every way a ticket arrives (the form, the API, the inbound webhook, the import), its evidence and files."""
