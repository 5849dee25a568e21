"""Reads of the weekly review, one module per section (each a selector building its data for a week).

`triage.review.sections` lists the sections the page shows; `review_page` builds them all.
"""
