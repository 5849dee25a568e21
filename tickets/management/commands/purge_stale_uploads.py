"""Delete files uploaded on the report form that never became an attachment (the form was abandoned)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from tickets.intake.uploads import upload_purge_stale


class Command(BaseCommand):
    help = "Delete stashed report-form uploads no ticket uses, once their form token has expired (run daily)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="Only files older than this (default 24).")
        parser.add_argument("--months", type=int, default=2, help="Upload folders (months) to walk (default 2).")

    def handle(self, *args, hours: int, months: int, **options):
        if hours < 24:
            self.stderr.write("--hours must be at least 24: a form may still use a younger upload.")
            raise SystemExit(2)
        purged = upload_purge_stale(older_than=timedelta(hours=hours), months=months)
        self.stdout.write(f"Deleted {purged} stale upload(s).")
