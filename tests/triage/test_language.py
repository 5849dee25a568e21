"""Churn and other account language, on examples written for the test (no database)."""

from __future__ import annotations

import pytest

from triage.accounts.language import (
    champion_departure,
    churn_language,
    competitors_mentioned,
    excerpt,
    executive_complaint,
    expansion_interest,
)

CHURN = [
    "We will cancel our subscription at the end of the month.",
    "If this isn't fixed we won't renew in March.",
    "They are evaluating alternatives ahead of the renewal.",
    "The customer says they will move to Boardly if exports keep failing.",
    "We're thinking about cancelling the contract.",
    "Finance sent a non-renewal notice this morning.",
    "They plan to terminate the agreement in Q1.",
    "Honestly we are looking at other tools now.",
    "We want to close our account.",
    "We will no longer renew after this year.",
]
NOT_CHURN = [
    "We are not cancelling, we love it.",
    "No plans to cancel, just asking about invoices.",
    "We would never switch away from you.",
    "They don't want to leave Planwise, they only need SSO.",
    "The cancel button on the task dialog does nothing.",
    "Please cancel the export job that is stuck.",
    "Happy customer, will renew for three years.",
    "Cancelled meetings still show on the calendar.",
    "We are definitely not looking for alternatives.",
    "Usage is up, the team loves the new board.",
]


@pytest.mark.parametrize("text", CHURN)
def test_churn_language_is_found(text):
    assert churn_language(text), text


@pytest.mark.parametrize("text", NOT_CHURN)
def test_negated_or_unrelated_words_are_not_churn(text):
    assert churn_language(text) == [], text


def test_competitors_are_whole_names_in_any_case():
    assert competitors_mentioned("They demoed BOARDLY and Flowstack.", ["Boardly", "Flowstack", "Trackwell"]) == [
        "Boardly",
        "Flowstack",
    ]
    assert competitors_mentioned("Flowstacks of paper", ["Flowstack"]) == []


def test_executives_champions_and_expansion():
    assert executive_complaint("Their CFO is furious about the invoices.") == ["CFO"]
    assert executive_complaint("The CFO approved the invoice.") == []
    assert champion_departure("Our champion has left the company.")
    assert champion_departure("Our admin has not left, she is on holiday.") == []
    assert expansion_interest("They want 40 more seats and to roll it out to the rest of the teams.")
    assert expansion_interest("We do not need more seats.") == []


def test_excerpt_quotes_around_the_phrase():
    text = "A long story. " * 20 + "We will cancel our subscription." + " More words." * 20
    assert "We will cancel our subscription." in excerpt(text, "cancel our subscription", 30)
    assert excerpt(text, "cancel our subscription", 30).startswith("…")
