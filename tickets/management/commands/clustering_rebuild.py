"""Rebuild the clustering engine's index from all tickets, then assign the tickets still waiting."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from tickets.clustering.assignment import tickets_assign_all_pending
from tickets.clustering.services import index_rebuild_all
from tickets.models import Ticket


class Command(BaseCommand):
    help = (
        "Re-read every ticket and rewrite the clustering index (term statistics, postings of assignable "
        "clusters, cluster profiles), then put every ticket still waiting for the engine in its cluster. "
        "People's decisions and existing assignments are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-assign", action="store_true", help="Only rebuild the index.")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars.")

    def handle(self, *args, no_assign=False, no_progress=False, **options):
        total = Ticket.objects.count()
        with tqdm(total=total, unit=" tickets", desc="Index", disable=True if no_progress else None) as bar:
            done = [0]

            def progress(n):
                bar.update(n - done[0])
                done[0] = n

            counts = index_rebuild_all(progress=progress)
        self.stdout.write(
            f"Indexed {counts['tickets']:,} tickets: {counts['profiles']:,} cluster profiles, "
            f"{counts['postings']:,} postings, {counts['terms']:,} distinct terms."
        )
        if no_assign:
            return
        assigned = tickets_assign_all_pending()
        self.stdout.write(self.style.SUCCESS(f"Assigned {assigned:,} waiting tickets."))
