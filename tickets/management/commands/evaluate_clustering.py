"""Replay a CSV of real bug reports through the clustering engine on a throwaway database and score it."""

import json
import os
import sys

from celery import current_app as celery_app
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tickets.clustering.embeddings import encoder_status
from tickets.clustering.evaluation import replay_with, reports_read
from tickets.clustering.semantic import SIGNALS


class Command(BaseCommand):
    help = (
        "Replay bug reports (CSV: id, project, group_id, dup_of, title, description, created, product, component) "
        "in arrival order through the clustering engine, on a throwaway database, and print online Recall@1/5/10, "
        "B-cubed precision/recall/F1 and tickets per second. Your own database is not touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file of reports, e.g. ../shared/datasets/duplicate-reports-dev.csv")
        parser.add_argument("--project", help="Keep only the rows of this project (e.g. eclipse).")
        parser.add_argument("--json", action="store_true", help="End with one line of JSON holding the figures.")
        parser.add_argument(
            "--signal",
            choices=SIGNALS,
            default=None,
            help="Text similarity from words (lexical), sentence embeddings (semantic) or both (fused). "
            "Default: fused when CLUSTERING_EMBEDDING_MODEL loads, else lexical.",
        )
        parser.add_argument(
            "--embedding-cache",
            metavar="DIR",
            help="Keep the reports' vectors in DIR (outside the repository) so repeated replays encode once.",
        )

    def handle(self, *args, path, project=None, json=False, signal=None, embedding_cache=None, **options):
        try:
            reports = reports_read(path, project)
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {path}") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not reports:
            raise CommandError(f"No reports in {path}" + (f" for project {project!r}" if project else ""))
        found, reason = encoder_status()
        if signal is None:
            signal = "fused" if found is not None else "lexical"
            if found is None:
                self.stderr.write(reason)
        elif signal != "lexical" and found is None:
            raise CommandError(f"--signal {signal} needs a model: {reason}")
        self.stderr.write(f"Replaying {len(reports)} reports on a throwaway database...")
        old_name = connection.settings_dict["NAME"]
        # A throwaway database of its own: in memory on SQLite, a uniquely named one on PostgreSQL.
        test_settings = connection.settings_dict.setdefault("TEST", {})
        test_settings["NAME"] = None if connection.vendor == "sqlite" else f"{old_name}_replay_{os.getpid()}"
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        # Work the replay's receivers enqueue (SLA clocks...) runs inline against the throwaway database,
        # never on the broker, where a worker would apply it to the real one.
        celery_app.conf.task_always_eager = True
        try:
            figures = replay_with(reports, signal=signal, cache=embedding_cache, progress=self._progress(len(reports)))
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        self.stderr.write("")
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            self.stdout.write(f"{key.ljust(width)}  {value}")
        if json:
            self.stdout.write(_json_line(figures))

    def _progress(self, total):
        def report(done):
            if done % 200 == 0 or done == total:
                self.stderr.write(f"\r{done}/{total}", ending="")
                sys.stderr.flush()

        return report


def _json_line(figures):
    keys = (
        "reports",
        "signal",
        "recall_at_1",
        "recall_at_5",
        "recall_at_10",
        "bcubed_precision",
        "bcubed_recall",
        "bcubed_f1",
        "tickets_per_second",
        "bcubed_recall_multi_report_groups",
        "clusters",
        "groups",
        "encoding_ms_per_ticket",
    )
    return json.dumps({k: figures.get(k) for k in keys})
