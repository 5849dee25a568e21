"""The tickets app's REST API (mounted under /api/v1/ by triage/api_urls.py)."""
