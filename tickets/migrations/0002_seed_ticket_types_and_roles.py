"""Seed the contract's ticket types with their evidence fields, and the role groups.

Self-contained on purpose: a data migration must not import the app's current code.
Admins can edit or extend all of this later in the admin; re-running is a no-op.
"""

from django.db import migrations

UA_HELP = "Paste the customer's User-Agent string (ask them to open whatismybrowser.com and copy it); browser, version, OS and device are filled from it."
BROWSERS = "Browser name and version, e.g. Safari 17.2. Filled from the User-Agent when one is pasted."
OSES = "Operating system and version, e.g. iOS 17.2 or Windows 11. Filled from the User-Agent."

# (key, label, kind, requirement, collection, help, choices)
COMMON_CLIENT = [
    ("user_agent", "User-Agent", "long_text", "optional", "auto", UA_HELP, []),
    ("browser", "Browser", "text", "required", "auto", BROWSERS, []),
    ("browser_version", "Browser version", "text", "optional", "auto", "Filled from the User-Agent.", []),
    ("os", "Operating system", "text", "required", "auto", OSES, []),
    ("device", "Device", "choice", "optional", "auto", "Filled from the User-Agent.", ["desktop", "mobile", "tablet", "other"]),
]

TYPES = [
    {
        "key": "login_issue",
        "name": "Login issue",
        "feedback_kind": "bug_report",
        "order": 10,
        "description": "The customer cannot sign in, is signed out, or a sign-in step fails.",
        "fields": COMMON_CLIENT
        + [
            ("error_message", "Error message", "text", "required", "customer",
             "The exact text of the error the customer sees; ask for a screenshot if they paraphrase.", []),
            ("account_status", "Account status", "choice", "required", "agent",
             "Look it up in the admin console under Accounts > Status.",
             ["active", "locked", "suspended", "pending_verification", "sso_managed", "unknown"]),
            ("last_successful_login", "Last successful login", "datetime", "recommended", "logs",
             "From Accounts > Security > Sign-in history; in the customer's time zone.", []),
            ("login_method", "Sign-in method", "choice", "recommended", "customer",
             "How the customer signs in.", ["password", "sso", "magic_link", "social", "biometric", "two_factor"]),
        ],
    },
    {
        "key": "payment_failure",
        "name": "Payment failure",
        "feedback_kind": "bug_report",
        "order": 20,
        "description": "A charge, checkout or subscription payment fails or is taken twice.",
        "fields": [
            ("payment_method", "Payment method", "choice", "required", "customer",
             "What the customer paid with.",
             ["credit_card", "debit_card", "paypal", "apple_pay", "google_pay", "bank_transfer", "sepa_debit", "invoice"]),
            ("amount", "Amount", "money", "required", "customer",
             "The amount of the failed payment with its currency, e.g. EUR 49.00.", []),
            ("error_code", "Error code", "text", "required", "logs",
             "The decline or error code shown at checkout (e.g. 4001), or from Billing > Transactions.", []),
            ("transaction_id", "Transaction ID", "text", "recommended", "logs",
             "From Billing > Transactions, or the payment provider's receipt (starts with txn_ or ch_).", []),
            ("checkout_step", "Checkout step", "choice", "recommended", "customer",
             "Where in checkout it failed.", ["cart", "payment_details", "confirmation", "3ds_challenge", "renewal", "upgrade"]),
        ]
        + [(k, l, kind, "optional", c, h, ch) for (k, l, kind, _r, c, h, ch) in COMMON_CLIENT],
    },
    {
        "key": "feature_bug",
        "name": "Feature bug",
        "feedback_kind": "bug_report",
        "order": 30,
        "description": "A feature does not work as documented.",
        "fields": [
            ("component", "Component", "choice", "recommended", "agent",
             "The area of the product where it happens.",
             ["dashboard", "reports", "editor", "integrations", "notifications", "settings", "mobile_app", "api", "other"]),
            ("steps_to_reproduce", "Steps to reproduce", "long_text", "required", "agent",
             "Numbered steps from a fresh page load; try them yourself if you can.", []),
            ("expected_behavior", "Expected behaviour", "long_text", "required", "customer",
             "What the customer expected to happen.", []),
            ("actual_behavior", "Actual behaviour", "long_text", "required", "customer",
             "What happened instead, with any error text word for word.", []),
            ("frequency", "Frequency", "choice", "required", "customer",
             "How often it happens when the steps are followed.", ["always", "often", "sometimes", "once"]),
            ("error_message", "Error message", "text", "optional", "customer", "Any error text shown.", []),
            ("screenshot", "Screenshot", "file", "recommended", "customer",
             "A screenshot of the problem; attach it below.", []),
        ]
        + [(k, l, kind, "recommended" if r == "required" else r, c, h, ch) for (k, l, kind, r, c, h, ch) in COMMON_CLIENT],
    },
    {
        "key": "performance_issue",
        "name": "Performance issue",
        "feedback_kind": "bug_report",
        "order": 40,
        "description": "A page or action is slow or times out.",
        "fields": [
            ("page_action", "Page or action", "text", "required", "customer",
             "Which page or action is slow, e.g. 'Reports > Export CSV'.", []),
            ("load_time_seconds", "Load time (seconds)", "number", "required", "customer",
             "Measured in the browser's developer tools (Network tab, 'Load'), or timed by the customer.", []),
            ("network_conditions", "Network conditions", "choice", "recommended", "customer",
             "The customer's connection when it was slow.",
             ["office_network", "home_broadband", "mobile_data", "vpn", "satellite", "unknown"]),
            ("region", "Region", "text", "optional", "agent", "Country or region of the customer's users.", []),
            ("har_file", "HAR file", "file", "recommended", "customer",
             "Ask the customer to export a HAR file from the Network tab and attach it below.", []),
        ]
        + [(k, l, kind, "recommended" if r == "required" else r, c, h, ch) for (k, l, kind, r, c, h, ch) in COMMON_CLIENT],
    },
    {
        "key": "feature_request",
        "name": "Feature request",
        "feedback_kind": "feature_request",
        "order": 50,
        "description": "Something the customer wants the product to do.",
        "fields": [
            ("customer_segment", "Customer segment", "choice", "required", "auto",
             "Filled from the customer account.", ["enterprise", "mid_market", "smb"]),
            ("need_frequency", "Frequency of need", "choice", "required", "customer",
             "How often the customer needs this.", ["daily", "weekly", "one_time"]),
            ("workaround_difficulty", "Workaround difficulty", "choice", "required", "customer",
             "How hard it is to get the job done today without it.", ["impossible", "complex", "simple"]),
            ("revenue_impact", "Revenue impact", "choice", "required", "agent",
             "Blocker: the deal or renewal depends on it. Friction: slows them down. Nice-to-have.",
             ["blocker", "friction", "nice_to_have"]),
            ("customer_words", "In the customer's words", "long_text", "required", "customer",
             "Quote the customer: what they are trying to achieve, not the solution they suggest.", []),
        ],
    },
]

ROLES = ["agent", "product_lead", "customer_success", "admin"]


def seed(apps, schema_editor):
    TicketType = apps.get_model("tickets", "TicketType")
    EvidenceField = apps.get_model("tickets", "EvidenceField")
    Group = apps.get_model("auth", "Group")
    for spec in TYPES:
        ticket_type, created = TicketType.objects.get_or_create(
            key=spec["key"],
            defaults={
                "name": spec["name"],
                "feedback_kind": spec["feedback_kind"],
                "order": spec["order"],
                "description": spec["description"],
            },
        )
        if not created:
            continue
        for position, (key, label, kind, requirement, collection, help_text, choices) in enumerate(spec["fields"]):
            EvidenceField.objects.create(
                ticket_type=ticket_type,
                key=key,
                label=label,
                kind=kind,
                requirement=requirement,
                collection_method=collection,
                help_text=help_text,
                choices=choices,
                order=(position + 1) * 10,
            )
    for role in ROLES:
        Group.objects.get_or_create(name=role)


def unseed(apps, schema_editor):
    apps.get_model("tickets", "TicketType").objects.filter(
        key__in=[t["key"] for t in TYPES], tickets__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
