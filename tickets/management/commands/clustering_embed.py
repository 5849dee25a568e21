"""Give every ticket and cluster its sentence embedding (after configuring or changing the model)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tickets.clustering import semantic
from tickets.clustering.backfill import BATCH, embeddings_backfill, tickets_to_embed


class Command(BaseCommand):
    help = (
        "Encode the tickets that have no vector of the model in CLUSTERING_EMBEDDING_MODEL (in batches, each "
        "committed: stop it and run it again to go on), re-encode vectors of another model, then rebuild every "
        "cluster's vectors from its tickets'. Assignments are not changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH, help=f"tickets encoded together (default {BATCH})")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars.")

    def handle(self, *args, batch_size=BATCH, no_progress=False, **options):
        if not 1 <= batch_size <= 1024:
            raise CommandError(f"--batch-size must be between 1 and 1024; got {batch_size}.")
        encoder = semantic.encoder()
        if encoder is None:
            raise CommandError(semantic.embeddings.encoder_status()[1])
        total = tickets_to_embed(encoder.identity).count()
        self.stdout.write(f"Model {encoder.identity} (up to {encoder.max_tokens} tokens): {total:,} tickets to encode.")
        disable = True if no_progress else None
        with (
            tqdm(total=total, unit=" tickets", desc="Tickets", disable=disable) as bar,
            tqdm(unit=" clusters", desc="Clusters", disable=disable) as cluster_bar,
        ):
            done = [0]

            def clusters(n):
                cluster_bar.update(n - done[0])
                done[0] = n

            result = embeddings_backfill(batch_size=batch_size, progress=bar.update, cluster_progress=clusters)
        replaced = f" ({result.replaced:,} had a vector of another model)" if result.replaced else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Encoded {result.embedded:,} tickets{replaced}; rebuilt the vectors of {result.clusters:,} clusters."
            )
        )
