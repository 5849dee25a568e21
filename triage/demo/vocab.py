"""Vocabulary of the fictional SaaS ("Planwise", a project-planning app) and its customers.

Plain data: people, company names, client environments with real-looking
User-Agent strings, currencies and prices. No randomness lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

PRODUCT = "Planwise"
APP_HOST = "app.planwise.example"

# (username, first, last, role); the first of each role is the one the README names.
DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("agent", "Alex", "Morgan", "agent"),
    ("priya", "Priya", "Natarajan", "agent"),
    ("tomas", "Tomás", "Herrera", "agent"),
    ("mei", "Mei", "Chen", "agent"),
    ("jonas", "Jonas", "Becker", "agent"),
    ("lead", "Lena", "Fischer", "product_lead"),
    ("omar", "Omar", "Haddad", "product_lead"),
    ("csm", "Chloe", "Dubois", "customer_success"),
    ("admin", "Sam", "Taylor", "admin"),
]

COMPANY_FIRST = [
    "Acme",
    "Blue Harbor",
    "Northwind",
    "Cobalt",
    "Evergreen",
    "Summit",
    "Lumen",
    "Redwood",
    "Silverline",
    "Brightpath",
    "Kestrel",
    "Granite",
    "Harborview",
    "Ironclad",
    "Juniper",
    "Lakeside",
    "Meridian",
    "Nimbus",
    "Orchard",
    "Pioneer",
    "Quarry",
    "Riverstone",
    "Sable",
    "Tidewater",
    "Union",
    "Vantage",
    "Willow",
    "Zephyr",
    "Alder",
    "Beacon",
    "Cedar",
    "Driftwood",
    "Ember",
    "Foxglove",
    "Goldcrest",
    "Hollis",
    "Indigo",
    "Keystone",
]
COMPANY_SECOND = [
    "Logistics",
    "Health",
    "Analytics",
    "Foods",
    "Robotics",
    "Media",
    "Legal",
    "Energy",
    "Studios",
    "Labs",
    "Freight",
    "Dental",
    "Architects",
    "Consulting",
    "Retail",
    "Capital",
    "Biotech",
    "Travel",
    "Education",
    "Manufacturing",
    "Insurance",
    "Software",
    "Marketing",
    "Construction",
    "Hospitality",
    "Security",
]
COMPANY_FORM = ["Inc.", "Ltd", "GmbH", "LLC", "Group", "Co.", "SAS", "BV", "Pty Ltd", ""]

# Currency by legal form, so a GmbH pays in EUR and a Ltd in GBP.
CURRENCY_BY_FORM = {"GmbH": "EUR", "SAS": "EUR", "BV": "EUR", "Ltd": "GBP", "Pty Ltd": "AUD"}
REGION_BY_CURRENCY = {
    "USD": ["United States", "Canada", "US East", "US West"],
    "EUR": ["Germany", "France", "Netherlands", "EU West"],
    "GBP": ["United Kingdom", "Ireland"],
    "AUD": ["Australia", "New Zealand"],
}
# Monthly list price per seat and typical seats per plan tier.
PLAN_PRICE = {"free": 0, "starter": 12, "professional": 24, "business": 39, "enterprise": 55}


@dataclass(frozen=True)
class ClientEnv:
    """A browser on an operating system, as a User-Agent parser would report it."""

    browser: str
    version: str
    os: str
    device: str
    user_agent: str

    @property
    def family(self) -> str:
        return self.browser.split()[0].lower()


_W = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
_M = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)"
_MS = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"

ENVIRONMENTS = [
    ClientEnv("Chrome", "131.0.6778.86", "Windows 11", "desktop", f"{_W} Chrome/131.0.6778.86 Safari/537.36"),
    ClientEnv("Chrome", "130.0.6723.117", "Windows 10", "desktop", f"{_W} Chrome/130.0.6723.117 Safari/537.36"),
    ClientEnv("Chrome", "129.0.6668.101", "macOS 14.6", "desktop", f"{_M} Chrome/129.0.6668.101 Safari/537.36"),
    ClientEnv("Chrome", "131.0.6778.69", "macOS 15.1", "desktop", f"{_M} Chrome/131.0.6778.69 Safari/537.36"),
    ClientEnv(
        "Chrome",
        "131.0.6778.39",
        "Android 14",
        "mobile",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.39 Mobile Safari/537.36",
    ),
    ClientEnv(
        "Chrome",
        "130.0.6723.102",
        "Android 13",
        "mobile",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.6723.102 Mobile Safari/537.36",
    ),
    ClientEnv(
        "Chrome",
        "128.0.6613.137",
        "ChromeOS 128",
        "desktop",
        "Mozilla/5.0 (X11; CrOS x86_64 15964.67.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/128.0.6613.137 Safari/537.36",
    ),
    ClientEnv("Safari", "17.6", "macOS 14.6", "desktop", f"{_MS} Version/17.6 Safari/605.1.15"),
    ClientEnv("Safari", "18.1", "macOS 15.1", "desktop", f"{_MS} Version/18.1 Safari/605.1.15"),
    ClientEnv(
        "Mobile Safari",
        "17.5",
        "iOS 17.5",
        "mobile",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    ClientEnv(
        "Mobile Safari",
        "18.1",
        "iOS 18.1",
        "mobile",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
    ),
    ClientEnv(
        "Mobile Safari",
        "18.0",
        "iPadOS 18.0",
        "tablet",
        "Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Mobile/15E148 Safari/604.1",
    ),
    ClientEnv(
        "Firefox",
        "132.0",
        "Windows 11",
        "desktop",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    ),
    ClientEnv(
        "Firefox",
        "128.4.0esr",
        "Ubuntu 22.04",
        "desktop",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    ClientEnv(
        "Firefox",
        "131.0",
        "macOS 14.6",
        "desktop",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:131.0) Gecko/20100101 Firefox/131.0",
    ),
    ClientEnv(
        "Edge", "131.0.2903.51", "Windows 11", "desktop", f"{_W} Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.51"
    ),
    ClientEnv(
        "Edge", "130.0.2849.80", "Windows 10", "desktop", f"{_W} Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.80"
    ),
    ClientEnv(
        "Planwise iOS app",
        "5.12.1",
        "iOS 18.1",
        "mobile",
        "Planwise/5.12.1 (iPhone15,2; iOS 18.1; Scale/3.00) CFNetwork/1568.200.51 Darwin/24.1.0",
    ),
    ClientEnv(
        "Planwise Android app",
        "5.12.0",
        "Android 14",
        "mobile",
        "Planwise/5.12.0 (Android 14; SM-A546B; okhttp/4.12.0)",
    ),
]
# How common each environment is among the customers' users (same order as ENVIRONMENTS).
ENVIRONMENT_WEIGHTS = [16, 10, 7, 6, 4, 2, 2, 6, 5, 5, 4, 2, 4, 1, 1, 6, 3, 3, 2]

AREAS = {
    "dashboard": ["the dashboard", "the home dashboard", "Dashboard > Overview", "the portfolio dashboard"],
    "reports": ["Reports", "the reports page", "Reports > Time tracking", "the burndown report"],
    "editor": ["the task editor", "the project editor", "the Gantt view", "the board view"],
    "integrations": ["the Slack integration", "the Jira sync", "the Salesforce connector", "Zapier"],
    "notifications": ["email notifications", "push notifications", "the notification centre", "digest emails"],
    "settings": ["Workspace settings", "Settings > Members", "Settings > Billing", "profile settings"],
    "mobile_app": ["the iOS app", "the Android app", "the mobile app", "the app on iPad"],
    "api": ["the REST API", "the public API", "webhooks", "the API tokens page"],
}

COMPETITORS = ["Taskforge", "Boardly", "Flowstack", "Trackwell", "Plannery"]
