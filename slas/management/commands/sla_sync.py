from django.core.management.base import BaseCommand

from slas.services import clocks_resync_open


class Command(BaseCommand):
    help = "Start or re-sync the SLA clocks of every open cluster (after installing slas on existing data)."

    def handle(self, *args, **options):
        count = clocks_resync_open()
        self.stdout.write(self.style.SUCCESS(f"SLA clocks in sync on {count} open clusters."))
