"""REST API of the slas app, registered in triage/api_urls.py."""
