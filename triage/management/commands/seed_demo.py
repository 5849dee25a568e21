"""manage.py seed_demo: load the demo support history (see docs/demo-data.md)."""

from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from tickets.clustering.semantic import encoder
from triage.demo.review import review_demo_seed
from triage.demo.seed import DEFAULT_SEED, DEFAULT_TICKETS, demo_is_loaded, demo_reset, demo_seed
from triage.demo.vocab import DEMO_PASSWORD, DEMO_USERS

MAX_TICKETS = 1_000_000


class Command(BaseCommand):
    help = (
        "Create a realistic fictional support history: ~200 customers, 6 months of tickets over the four bug "
        "types and the other feedback kinds, ~40 recurring bugs with their clusters, fixes with known effects, "
        f"and demo users (password '{DEMO_PASSWORD}'). Deterministic for a given --seed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tickets", type=int, default=DEFAULT_TICKETS, help=f"tickets to create (default {DEFAULT_TICKETS})"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
        parser.add_argument(
            "--until",
            help="end of the history as an ISO date-time (default: now); with --seed it makes runs identical",
        )
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--if-empty", action="store_true", help="do nothing if tickets or clusters exist")
        group.add_argument(
            "--reset", action="store_true", help="delete all tickets, clusters and customers first (keeps users)"
        )
        parser.add_argument(
            "--allow-production-database",
            action="store_true",
            help="seed although DEMO_DATA_ALLOWED is off (DEBUG off and not the embedded SQLite database): "
            f"creates logins with the published password '{DEMO_PASSWORD}', and --reset deletes every ticket",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--no-clustering",
            action="store_true",
            help="leave the clustering index empty and the newest tickets waiting (run clustering_rebuild later)",
        )

    def handle(self, *args, **options):
        if not settings.DEMO_DATA_ALLOWED and not options["allow_production_database"]:
            database = connection.settings_dict.get("NAME")
            raise CommandError(
                f"Refusing to load demo data into '{database}': DEBUG is off and it is not the embedded SQLite "
                f"database, so this looks like production. The demo creates users such as 'admin' with the "
                f"published password '{DEMO_PASSWORD}', and --reset deletes every ticket, cluster and customer. "
                "For a demo stack set DEMO_DATA_ALLOWED=true or pass --allow-production-database."
            )
        tickets = options["tickets"]
        if not 0 <= tickets <= MAX_TICKETS:
            raise CommandError(f"--tickets must be between 0 and {MAX_TICKETS:,}; got {tickets:,}.")
        end = None
        if options["until"]:
            end = parse_datetime(options["until"])
            if end is None:
                raise CommandError(
                    f"--until must be an ISO date-time such as 2026-11-02T12:00:00Z; got {options['until']!r}."
                )
            if end.tzinfo is None:
                end = end.replace(tzinfo=UTC)
        if options["if_empty"] and demo_is_loaded():
            self.stdout.write("Demo data is already loaded; nothing to do (use --reset to load it again).")
            return
        if options["reset"]:
            self.stdout.write("Deleting tickets, clusters and customers")
            demo_reset()
        elif demo_is_loaded():
            raise CommandError("The database already has tickets or clusters; use --reset to replace them.")

        bar = tqdm(
            total=tickets,
            unit=" tickets",
            unit_scale=True,
            desc="Demo tickets",
            disable=True if options["no_progress"] else None,
        )
        try:
            result = demo_seed(tickets=tickets, seed=options["seed"], end=end, progress=bar.update)
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {result.tickets:,} tickets, {result.customers} customers, {result.clusters} clusters and "
                f"{result.users} users in {result.seconds:.1f} s."
            )
        )
        if not options["no_clustering"]:
            if encoder() is not None:  # with a model, the tickets' meaning first (the assignments then use it)
                call_command("clustering_embed", no_progress=options["no_progress"], stdout=self.stdout)
            # The engine reads the history, then assigns the tickets filed since the last import, with reasons.
            call_command("clustering_rebuild", no_progress=options["no_progress"], stdout=self.stdout)
        # The weekly review's story of the last two weeks, on the clustered history.
        self.stdout.write(review_demo_seed(end=end))
        logins = ", ".join(u[0] for u in DEMO_USERS)
        self.stdout.write(f"Demo logins: {logins} (password: {DEMO_PASSWORD})")
