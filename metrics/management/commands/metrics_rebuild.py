"""Rebuild the daily-count rollup from the tickets table and measure every deployed fix again."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Min
from django.utils import timezone

from metrics.models import FixImpact
from metrics.services import fix_impacts_discover, fix_impacts_recompute_due, rollup_rebuild
from metrics.services.rollup import local_day
from tickets.models import Ticket


class Command(BaseCommand):
    help = (
        "Recount tickets per day (per cluster and per feedback kind) from the tickets table, then measure "
        "every deployed fix again. Run after importing tickets in bulk or loading demo data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Only recount the last N days (default: all).")

    def handle(self, *args, days=None, **options):
        today = local_day(timezone.now())
        if days is not None:
            if days < 1:
                raise CommandError("--days must be 1 or more.")
            day_from = today - timedelta(days=days - 1)
        else:
            first = Ticket.objects.aggregate(first=Min("reported_at"))["first"]
            day_from = local_day(first) if first else today
        changed = rollup_rebuild(day_from=day_from, day_to=today)
        self.stdout.write(f"Daily counts {day_from}..{today}: {changed} rows corrected.")
        registered = fix_impacts_discover()
        FixImpact.objects.update(computed_through=None, is_final=False)
        measured = fix_impacts_recompute_due(reconcile=False)
        self.stdout.write(self.style.SUCCESS(f"Measured {measured} fixes ({registered} newly found)."))
