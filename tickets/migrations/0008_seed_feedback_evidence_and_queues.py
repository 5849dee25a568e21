"""Evidence for every feedback kind, and where each kind goes.

Self-contained on purpose (a data migration must not import the app's code). Existing installs get:
- a ticket type for UX feedback, documentation gaps, at-risk signals, praise and competitive intel,
  each asking for what its owner needs (a kind with one type needs no choice in the form);
- on the feature request type: the use case, and whether it is a churn risk, an expansion blocker or a
  competitive gap (fields an admin already added under the same key are left alone);
- an optional CSAT rating (1-5) on every type, so satisfaction arrives with tickets through the API and forms;
- the feedback queues: bug reports -> engineering, feature requests -> product, UX feedback ->
  product/design, documentation gaps -> docs, at-risk signals -> customer success, praise -> customer
  success/marketing, competitive intel -> product/sales. Owners are set in the admin.
Re-running is a no-op.
"""

from django.db import migrations

CSAT = (
    "csat", "CSAT rating", "choice", "optional", "auto",
    "The customer's satisfaction rating for this conversation as the help desk recorded it "
    "(1 = very unhappy, 5 = very happy).",
    ["1", "2", "3", "4", "5"],
)  # fmt: skip

RISK_INDICATORS = [
    "churn_language",
    "competitor_mentioned",
    "executive_complaint",
    "negative_csat",
    "champion_departure",
    "incident_impact",
    "feature_blocker",
    "repeated_escalations",
    "expansion_interest",
]

# (key, label, kind, requirement, collection, help, choices)
NEW_TYPES = [
    {
        "key": "ux_feedback",
        "name": "UX feedback",
        "feedback_kind": "ux_feedback",
        "order": 60,
        "description": "The product works, but the customer found it hard to use.",
        "fields": [
            ("page_or_flow", "Page or flow", "text", "required", "customer",
             "Where it happened, e.g. 'Board > Filters' or 'Inviting a guest'.", []),
            ("customer_tried", "What the customer tried", "long_text", "required", "customer",
             "What they were trying to do and the steps they took, in their words.", []),
            ("stuck_at", "Where they got stuck", "long_text", "required", "agent",
             "The step where they gave up or asked for help, and what they expected to find there.", []),
            ("screenshot", "Screenshot", "file", "optional", "customer",
             "A screenshot of the screen where they got stuck; attach it below.", []),
        ],
    },
    {
        "key": "documentation_gap",
        "name": "Documentation gap",
        "feedback_kind": "documentation_gap",
        "order": 70,
        "description": "The customer looked for an answer in the docs and did not find it.",
        "fields": [
            ("doc_or_search", "Doc or search used", "text", "required", "customer",
             "The help article's URL or title, or the words the customer searched for.", []),
            ("missing", "What was missing", "long_text", "required", "agent",
             "The question the docs did not answer, or what they said that was wrong or out of date.", []),
        ],
    },
    {
        "key": "at_risk_signal",
        "name": "At-risk signal",
        "feedback_kind": "at_risk_signal",
        "order": 80,
        "description": "Something suggests the account may leave, or may buy more.",
        "fields": [
            ("risk_indicator", "Indicator", "choice", "required", "agent",
             "What you noticed. Expansion interest is an upsell lead for customer success, not a risk.",
             RISK_INDICATORS),
            ("customer_words", "The customer's words", "long_text", "required", "customer",
             "Quote what the customer said or wrote, word for word.", []),
            ("competitor", "Competitor named", "text", "optional", "customer",
             "If they named a competitor, which one.", []),
        ],
    },
    {
        "key": "praise",
        "name": "Praise",
        "feedback_kind": "praise",
        "order": 90,
        "description": "The customer is happy about something.",
        "fields": [
            ("quote", "The quote", "long_text", "required", "customer",
             "What the customer said, word for word.", []),
            ("may_we_use_it", "May we use it?", "choice", "required", "customer",
             "May marketing quote them by name (yes), not at all (no), or only after asking (ask first)?",
             ["yes", "no", "ask_first"]),
        ],
    },
    {
        "key": "competitive_intel",
        "name": "Competitive intel",
        "feedback_kind": "competitive_intel",
        "order": 100,
        "description": "What customers and prospects say about competitors.",
        "fields": [
            ("competitor", "Competitor", "text", "required", "customer",
             "The competitor, as the customer named it.", []),
            ("context", "Context", "long_text", "required", "agent",
             "What was said: the features, price or service they compared, and why.", []),
            ("deal_stage", "Deal stage", "choice", "required", "agent",
             "Where the account or deal stands.",
             ["prospect", "evaluation", "negotiation", "renewal", "closed_lost", "closed_won"]),
        ],
    },
]

FEATURE_REQUEST_FIELDS = [
    ("use_case", "Use case", "long_text", "recommended", "customer",
     "What the customer is trying to accomplish: the job to be done, not the solution they suggest.", [], 5),
    ("churn_risk", "Churn risk", "choice", "optional", "agent",
     "Would the customer leave without it?", ["yes", "no"], 60),
    ("expansion_blocker", "Expansion blocker", "choice", "optional", "agent",
     "Does it block an upsell, more seats or a bigger plan?", ["yes", "no"], 70),
    ("competitor_has_it", "Competitor that has it", "text", "optional", "customer",
     "A competitor that offers it (a competitive gap), if the customer named one.", [], 80),
]  # fmt: skip

QUEUES = [
    ("bug_report", "Engineering", "product_lead", 10,
     "Bug reports cluster into bugs; product leads triage them and engineering fixes them."),
    ("feature_request", "Product", "product_lead", 20,
     "Requests aggregate by capability and are weighed by the revenue that asks for them."),
    ("ux_feedback", "Product / design", "product_lead", 30,
     "Where customers got stuck: design looks for flows to simplify."),
    ("documentation_gap", "Docs", "product_lead", 40,
     "Questions the docs did not answer: the docs team writes or fixes the article."),
    ("at_risk_signal", "Customer success", "customer_success", 50,
     "Accounts that may leave (or buy more): their CSM acts."),
    ("praise", "Customer success / marketing", "customer_success", 60,
     "Happy customers: CSMs thank them, marketing asks to quote them."),
    ("competitive_intel", "Product / sales", "product_lead", 70,
     "What competitors offer and where deals are lost: product and sales review it."),
]  # fmt: skip


def _add_field(EvidenceField, ticket_type, key, label, kind, requirement, collection, help_text, choices, order):
    EvidenceField.objects.get_or_create(
        ticket_type=ticket_type,
        key=key,
        defaults={
            "label": label,
            "kind": kind,
            "requirement": requirement,
            "collection_method": collection,
            "help_text": help_text,
            "choices": choices,
            "order": order,
        },
    )


def seed(apps, schema_editor):
    TicketType = apps.get_model("tickets", "TicketType")
    EvidenceField = apps.get_model("tickets", "EvidenceField")
    FeedbackQueue = apps.get_model("tickets", "FeedbackQueue")
    for spec in NEW_TYPES:
        ticket_type, created = TicketType.objects.get_or_create(
            key=spec["key"],
            defaults={
                "name": spec["name"],
                "feedback_kind": spec["feedback_kind"],
                "order": spec["order"],
                "description": spec["description"],
            },
        )
        if created:
            for position, field in enumerate(spec["fields"]):
                _add_field(EvidenceField, ticket_type, *field, (position + 1) * 10)
    feature_request = TicketType.objects.filter(key="feature_request").first()
    if feature_request is not None:
        for key, label, kind, requirement, collection, help_text, choices, order in FEATURE_REQUEST_FIELDS:
            _add_field(EvidenceField, feature_request, key, label, kind, requirement, collection, help_text, choices, order)
    for ticket_type in TicketType.objects.all():
        _add_field(EvidenceField, ticket_type, *CSAT, 900)
    for kind, name, role, order, description in QUEUES:
        FeedbackQueue.objects.get_or_create(
            feedback_kind=kind,
            defaults={"name": name, "fallback_role": role, "order": order, "description": description},
        )


def unseed(apps, schema_editor):
    TicketType = apps.get_model("tickets", "TicketType")
    EvidenceField = apps.get_model("tickets", "EvidenceField")
    TicketType.objects.filter(key__in=[t["key"] for t in NEW_TYPES], tickets__isnull=True).delete()
    EvidenceField.objects.filter(key="csat").delete()
    EvidenceField.objects.filter(
        ticket_type__key="feature_request", key__in=[f[0] for f in FEATURE_REQUEST_FIELDS]
    ).delete()
    apps.get_model("tickets", "FeedbackQueue").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_feedback_routing_and_decisions")]

    operations = [migrations.RunPython(seed, unseed)]
