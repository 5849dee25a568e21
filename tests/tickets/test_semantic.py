"""The semantic signal: duplicates told in other words are found, joined and offered; bad input never breaks it.

Tests marked `embedding_model` run with the real all-MiniLM-L6-v2 (CLUSTERING_EMBEDDING_MODEL; CI sets it);
the others check the behaviour without a usable model.
"""

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from tests.processes import json_printed_by
from tests.tickets.factories import TicketFactory
from tickets.clustering import ranking, semantic
from tickets.clustering.assignment import ticket_assign, tickets_assign
from tickets.clustering.backfill import embeddings_backfill
from tickets.clustering.checks import embedding_model_check
from tickets.clustering.embeddings import encoder, encoder_reset, encoder_status
from tickets.clustering.features import extract
from tickets.clustering.selectors import cluster_possible_duplicates, cluster_suggestions
from tickets.clustering.vectors import ClusterVectors, cluster_vectors_write, open_clusters, to_bytes
from tickets.models import BugCluster, ClusterEmbedding, ClusterStatus, TicketEmbedding

pytestmark = pytest.mark.django_db

# Known bugs, each told twice, and a new report of each that shares no word (stem) with its bug's reports.
BUGS = {
    "reset": ["Password reset email never arrives", "Reset password link not received in the inbox"],
    "dashboard": ["Dashboard takes 30 seconds to load", "Dashboard loading is extremely slow"],
    "invoice": ["Invoice PDF downloads as a blank page", "Exported invoice PDF is empty"],
    "upload": ["Mobile app crashes when uploading a photo", "App closes itself during picture upload"],
    "calendar": ["Meeting times shown in the wrong time zone", "Calendar events display the wrong hour after DST"],
}
PARAPHRASES = {
    "reset": "Account recovery e-mail does not come through",
    "dashboard": "Home screen with charts is sluggish, waiting ages before anything appears",
    "upload": "Phone application quits unexpectedly while attaching an image",
}


def file(subject, description="", **fields):
    ticket = TicketFactory(subject=subject, description=description, **fields)
    result = ticket_assign(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    return ticket, result


def file_known_bugs():
    clusters = {}
    for name, wordings in BUGS.items():
        tickets = [file(w)[0] for w in wordings]
        assert tickets[0].cluster_id == tickets[1].cluster_id, f"{name}: its two reports should share a cluster"
        clusters[name] = tickets[0].cluster
    assert len({c.pk for c in clusters.values()}) == len(BUGS)
    return clusters


def stems(text):
    return set(extract(subject=text).terms)


# --- with the model -----------------------------------------------------------------------------------


@pytest.mark.embedding_model
@pytest.mark.parametrize("name", sorted(PARAPHRASES))
def test_a_duplicate_in_other_words_joins_its_bug_and_says_why(name):
    clusters = file_known_bugs()
    paraphrase = PARAPHRASES[name]
    assert not stems(paraphrase) & set().union(*(stems(w) for w in BUGS[name])), "the premise: no word in common"
    ticket, result = file(paraphrase)
    assert ticket.cluster_id == clusters[name].pk
    assert any(r.startswith("meaning similar") for r in ticket.assignment_reasons)
    assert not any(r.startswith("text similar") for r in ticket.assignment_reasons)
    assert TicketEmbedding.objects.filter(ticket=ticket).exists()
    assert ClusterEmbedding.objects.get(cluster=clusters[name]).tickets == 3


@pytest.mark.embedding_model
def test_by_words_alone_the_paraphrase_opens_a_cluster_which_then_lists_its_bug_as_a_possible_duplicate():
    clusters = file_known_bugs()
    with semantic.signal_used("lexical"):
        ticket, result = file(PARAPHRASES["upload"])
    assert result.created and ticket.cluster_id != clusters["upload"].pk
    # Once embedded (the backfill), the new cluster's page offers the old one as a possible duplicate, by
    # the clusters' stored vectors.
    assert embeddings_backfill().embedded == 1
    found = cluster_possible_duplicates(cluster=ticket.cluster)
    assert found and found[0].cluster == clusters["upload"]
    assert any(r.startswith("meaning similar") for r in found[0].reasons)


@pytest.mark.embedding_model
def test_the_known_bugs_panel_offers_the_bug_for_text_in_other_words(client, agent):
    clusters = file_known_bugs()
    found = cluster_suggestions(subject=PARAPHRASES["dashboard"])
    assert found and found[0].cluster == clusters["dashboard"]
    assert any(r.startswith("meaning similar") for r in found[0].reasons)
    with semantic.signal_used("lexical"):
        assert clusters["dashboard"].pk not in {
            s.cluster.pk for s in cluster_suggestions(subject=PARAPHRASES["dashboard"])
        }
    # The report form's panel (HTMX), as an agent types.
    client.force_login(agent)
    html = client.post(
        reverse("tickets:report_known_bugs"),
        {"feedback_kind": "bug_report", "ticket_type": "feature_bug", "subject": PARAPHRASES["upload"]},
    ).content.decode()
    assert clusters["upload"].title in html and "meaning similar" in html


@pytest.mark.embedding_model
def test_a_batch_finds_a_paraphrase_of_a_cluster_it_opened_itself():
    first = TicketFactory(subject=BUGS["upload"][0])
    second = TicketFactory(subject=PARAPHRASES["upload"])
    other = TicketFactory(subject=BUGS["invoice"][0])
    results = tickets_assign([first.pk, other.pk, second.pk])
    assert results[0].created and results[2].cluster.pk == results[0].cluster.pk
    assert results[1].cluster.pk != results[0].cluster.pk
    vectors = ClusterEmbedding.objects.get(cluster_id=results[0].cluster.pk)
    assert vectors.tickets == 2 and vectors.exemplar_ids == [first.pk, second.pk]


@pytest.mark.embedding_model
def test_the_open_cluster_matrix_sees_other_workers_writes_and_drops_merged_clusters(
    embedding_model, product_lead, django_capture_on_commit_callbacks
):
    clusters = file_known_bugs()
    matrix = open_clusters(embedding_model.identity, embedding_model.dimension)
    assert len(matrix) == len(BUGS)
    # Another worker opens a cluster: written to the table only, this process hears of it on its next refresh.
    elsewhere = BugCluster.objects.create(title="Zzz", status=ClusterStatus.NEW)
    vector = embedding_model.encode_one("Spreadsheet export never finishes")
    vectors = ClusterVectors.empty(embedding_model.dimension)
    vectors.add(1, vector)
    cluster_vectors_write({elsewhere.pk: ("bug", vectors)}, model=embedding_model.identity)
    matrix = open_clusters(embedding_model.identity, embedding_model.dimension)
    assert matrix.nearest("bug", vector[None, :], k=1, floor=0.9)[0][0][0] == elsewhere.pk
    # A merged cluster takes no tickets: it leaves the matrix, and its tickets' meaning follows them.
    from tickets.clusters.corrections import cluster_merge

    with django_capture_on_commit_callbacks(execute=True):  # the index follows in a task after the commit
        cluster_merge(source=clusters["upload"], into=clusters["invoice"], actor=product_lead)
    matrix = open_clusters(embedding_model.identity, embedding_model.dimension)
    upload = embedding_model.encode_one(PARAPHRASES["upload"])
    assert clusters["upload"].pk not in {cid for cid, _ in matrix.nearest("bug", upload[None, :], k=10, floor=0)[0]}
    assert ClusterEmbedding.objects.get(cluster=clusters["invoice"]).tickets == 4
    ticket, _ = file(PARAPHRASES["upload"])
    assert ticket.cluster_id == clusters["invoice"].pk


@pytest.mark.embedding_model
def test_a_ticket_a_person_placed_adds_its_meaning_to_the_cluster():
    clusters = file_known_bugs()
    placed = TicketFactory(subject="Phone app exits when I add a picture", cluster=clusters["upload"])
    ticket_assign(ticket_id=placed.pk)
    vectors = ClusterEmbedding.objects.get(cluster=clusters["upload"])
    assert vectors.tickets == 3 and placed.pk in vectors.exemplar_ids


@pytest.mark.embedding_model
def test_the_encoder_gives_unit_vectors_and_refuses_text_without_words(embedding_model):
    vectors = embedding_model.encode(["Checkout fails with PayPal", "", "   \n\t", "!!! ... ???", "4001"])
    assert vectors[0].shape == (384,) and vectors[0].dtype == np.float32
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-5
    assert vectors[1] is None and vectors[2] is None and vectors[3] is None
    assert vectors[4] is not None  # a bare error code is a word


@pytest.mark.embedding_model
def test_an_enormous_text_is_cut_at_the_models_limit(embedding_model):
    start = "Checkout fails with PayPal error 4001 when the customer confirms the order. "
    enormous = start * 30 + "x" * 2_000_000
    assert embedding_model.tokens(enormous) <= embedding_model.max_tokens <= 256
    vector = embedding_model.encode_one(enormous)
    assert float(vector @ embedding_model.encode_one(start * 30)) > 0.999  # only the start is read
    ticket, result = file("Checkout fails", enormous)
    assert result.cluster is not None and TicketEmbedding.objects.filter(ticket=ticket).exists()


@pytest.mark.embedding_model
def test_a_report_in_another_language_is_encoded_and_does_not_join_an_unrelated_bug():
    clusters = file_known_bugs()
    ticket, result = file("La facture ne s'affiche pas correctement dans le navigateur", "请帮助我们解决这个问题")
    assert TicketEmbedding.objects.filter(ticket=ticket).exists()
    assert ticket.cluster_id not in {c.pk for name, c in clusters.items() if name != "invoice"}


@pytest.mark.embedding_model
def test_vectors_of_another_model_are_never_mixed_and_the_backfill_replaces_them(embedding_model):
    clusters = file_known_bugs()
    old = TicketFactory(subject="Dashboard loading is extremely slow", cluster=clusters["dashboard"])
    # An older model with 8 dimensions made these vectors.
    stale = "old-model@000000000000/8"
    TicketEmbedding.objects.create(ticket=old, model=stale, vector=to_bytes(np.ones(8) / np.sqrt(8)))
    ClusterEmbedding.objects.filter(cluster=clusters["upload"]).update(model=stale, total=to_bytes(np.ones(8)))
    # The engine reads only vectors of its own model: the upload cluster has none now, so the paraphrase
    # cannot be matched by meaning and the stale vector is not read as a 384-value one.
    ticket, _ = file(PARAPHRASES["upload"])
    assert ticket.cluster_id != clusters["upload"].pk
    result = embeddings_backfill()
    assert result.embedded == 1 and result.replaced == 1
    assert TicketEmbedding.objects.get(ticket=old).model == embedding_model.identity
    assert not ClusterEmbedding.objects.exclude(model=embedding_model.identity).exists()
    assert ClusterEmbedding.objects.get(cluster=clusters["upload"]).tickets == 2
    assert embeddings_backfill().embedded == 0


@pytest.mark.embedding_model
def test_the_backfill_command_is_resumable(embedding_model):
    tickets = [TicketFactory(subject=f"Export number {n} never finishes") for n in range(5)]
    done = []

    def stop_after_first_batch(n):
        done.append(n)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embeddings_backfill(batch_size=2, progress=stop_after_first_batch)
    assert TicketEmbedding.objects.count() == 2
    out = io.StringIO()
    call_command("clustering_embed", "--batch-size", "2", "--no-progress", stdout=out)
    assert "3 tickets to encode" in out.getvalue() and "Encoded 3 tickets" in out.getvalue()
    assert TicketEmbedding.objects.filter(ticket__in=tickets, model=embedding_model.identity).count() == 5


@pytest.mark.embedding_model
def test_assigning_with_the_model_costs_a_few_queries_whatever_the_number_of_clusters(
    django_assert_max_num_queries,
):
    file_known_bugs()
    for n in range(30):
        TicketFactory(subject=f"Unrelated report about feature {n}")
    ticket = TicketFactory(subject=PARAPHRASES["reset"])
    # By words 12 on PostgreSQL (15 on SQLite, which writes profiles, postings and statistics one by one), + 7 with
    # the model: the ticket's vector, the matrix's refresh and load, the candidates' vectors, and writing the ticket's
    # and the cluster's vectors back.
    with django_assert_max_num_queries(19 if connection.vendor == "postgresql" else 22):
        ticket_assign(ticket_id=ticket.pk)


@pytest.mark.embedding_model
def test_replay_reports_each_signal(tmp_path, settings):
    path = tmp_path / "reports.csv"
    rows = ["id,project,group_id,dup_of,title,description,created,product,component"]
    rows += [
        f"1,demo,g1,,{BUGS['upload'][0]},,,,",
        f"2,demo,g2,,{BUGS['invoice'][0]},,,,",
        f"3,demo,g1,1,{PARAPHRASES['upload']},,,,",
    ]
    path.write_text("\n".join(rows) + "\n")
    env = {
        "CLUSTERING_EMBEDDING_MODEL": str(settings.TEST_EMBEDDING_MODEL),
        "DJANGO_SETTINGS_MODULE": "triage.settings",  # the test settings switch the model off
    }
    figures = {
        signal: json_printed_by(
            ["manage.py", "evaluate_clustering", str(path), "--json", "--signal", signal],
            var_dir=tmp_path / "var",
            env=env,
        )
        for signal in ("lexical", "semantic", "fused")
    }
    assert {f["signal"] for f in figures.values()} == {"lexical", "semantic", "fused"}
    assert figures["fused"]["recall_at_1"] == 1.0 and figures["semantic"]["recall_at_1"] == 1.0
    assert figures["fused"]["bcubed_f1"] == 1.0
    assert figures["lexical"]["recall_at_1"] == 0.0


# --- without a usable model -------------------------------------------------------------------------


@pytest.fixture
def model_setting(settings):
    def use(value):
        settings.CLUSTERING_EMBEDDING_MODEL = str(value)
        encoder_reset()

    yield use
    settings.CLUSTERING_EMBEDDING_MODEL = ""
    encoder_reset()


def test_without_a_model_the_engine_ranks_by_words_and_the_check_says_so(model_setting):
    model_setting("")
    messages = embedding_model_check()
    assert [m.id for m in messages] == ["tickets.I001"]
    assert "CLUSTERING_EMBEDDING_MODEL is not set" in messages[0].msg
    a, _ = file("Checkout error 4001 with PayPal")
    b, _ = file("PayPal checkout error 4001 again")
    assert a.cluster_id == b.cluster_id
    assert not TicketEmbedding.objects.exists() and not ClusterEmbedding.objects.exists()


def _tokenizer_file(path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0, "checkout": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(path))


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({}, "has no model.onnx"),
        ({"model.onnx": b"\x00garbage, not a model" * 100}, "is not a loadable ONNX model"),
        ({"model.onnx": b"", "tokenizer.json": b"{not json"}, "is not a readable tokenizer"),
        ({"model.onnx": b"\x08\x07"}, "is not a loadable ONNX model"),
    ],
)
def test_a_missing_or_corrupt_model_is_a_warning_naming_the_setting_and_the_engine_still_works(
    model_setting, tmp_path, files, says
):
    _tokenizer_file(tmp_path / "tokenizer.json")
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    model_setting(tmp_path)
    messages = embedding_model_check()
    assert [m.id for m in messages] == ["tickets.W001"]
    assert messages[0].msg.startswith("CLUSTERING_EMBEDDING_MODEL") and says in messages[0].msg
    assert encoder() is None
    a, _ = file("Checkout error 4001 with PayPal")
    b, _ = file("PayPal checkout error 4001 again")
    assert a.cluster_id == b.cluster_id and "text similar" in " ".join(b.assignment_reasons)


def test_a_model_directory_that_does_not_exist_is_named(model_setting, tmp_path):
    model_setting(tmp_path / "no-such-model")
    found, reason = encoder_status()
    assert found is None and "no-such-model is not a directory holding a model" in reason
    with pytest.raises(CommandError, match="CLUSTERING_EMBEDDING_MODEL"):
        call_command("clustering_embed", "--no-progress")


def test_replay_by_meaning_needs_a_model(model_setting, tmp_path):
    model_setting("")
    path = tmp_path / "reports.csv"
    path.write_text("id,project,group_id,title\n1,demo,g1,Checkout fails\n")
    with pytest.raises(CommandError, match="--signal semantic needs a model: CLUSTERING_EMBEDDING_MODEL is not set"):
        call_command("evaluate_clustering", str(path), "--signal", "semantic", stdout=io.StringIO())


def test_fusion_moves_the_words_similarity_by_meaning_and_the_ratio_test_picks_a_clear_winner():
    assert ranking.fuse(0.4, None) == 0.4
    assert ranking.fuse(0.4, ranking.MEANING_CENTRE) == pytest.approx(0.4)
    assert ranking.fuse(0.4, 0.95) > 0.4 > ranking.fuse(0.4, 0.3)
    assert ranking.fuse(0.4, 0.62, semantic_only=True) == pytest.approx(0.62)
    assert ranking.distinct_in_meaning({1: 0.66, 2: 0.2, 3: 0.1}) == 1
    assert ranking.distinct_in_meaning({1: 0.66, 2: 0.5}) is None  # two clusters close in meaning: no winner
    assert ranking.distinct_in_meaning({1: 0.45}) is None  # not close enough to anything
    assert ranking.distinct_in_meaning({1: None, 2: None}) is None


def test_a_cosine_counts_only_as_far_as_it_stands_above_the_tickets_own_background():
    # Fewer open clusters than the background needs: the fixed centre.
    assert ranking.meaning_centre([0.9, 0.8]) is None
    # A report in a product-wide template is close to everything (0.8): 0.85 is no evidence, it lowers the words'.
    template = ranking.meaning_centre([0.8] * 12)
    assert template == pytest.approx(0.8 + ranking.MEANING_BACKGROUND_OFFSET)
    assert ranking.fuse(0.4, 0.85, centre=template) < 0.4 < ranking.fuse(0.4, 0.85)
    # A report far from most others (0.3): the same 0.85 is strong evidence.
    assert ranking.fuse(0.4, 0.85, centre=ranking.meaning_centre([0.3] * 12)) > ranking.fuse(0.4, 0.85)


def _scored(*rows):
    return [(score, score, cluster_id, None, []) for score, cluster_id in rows]


def test_a_cluster_nearest_in_words_and_in_meaning_joins_below_the_usual_threshold():
    scored = _scored((0.45, 1), (0.3, 2))
    joined = ranking._agreement_joins(scored, {1: 0.5, 2: 0.3}, {1: 0.8, 2: 0.6}, centre=0.7)
    assert joined[0][0] == ranking.JOIN_THRESHOLD and ranking.AGREEMENT_REASON in joined[0][4]
    # Another cluster closer in meaning, or in words, or a meaning under the centre: no agreement, no join.
    assert ranking._agreement_joins(scored, {1: 0.5, 2: 0.3}, {1: 0.8, 2: 0.85}, centre=0.7)[0][0] == 0.45
    assert ranking._agreement_joins(scored, {1: 0.5, 2: 0.6}, {1: 0.8, 2: 0.6}, centre=0.7)[0][0] == 0.45
    assert ranking._agreement_joins(scored, {1: 0.5, 2: 0.3}, {1: 0.8, 2: 0.6}, centre=0.82)[0][0] == 0.45
    # Under the agreement floor the clusters stay apart whatever the agreement.
    low = _scored((ranking.AGREEMENT_FLOOR - 0.01, 1))
    assert ranking._agreement_joins(low, {1: 0.5}, {1: 0.9}, centre=0.7) == low


def test_the_cluster_nearest_in_meaning_is_always_among_the_first_five_offered():
    scored = _scored(*((1.0 - n / 10, n) for n in range(8)))
    cosines = dict.fromkeys(range(8), 0.4) | {7: 0.9}
    shown = [s[2] for s in ranking._nearest_in_meaning_shown(scored, cosines)]
    assert shown[: ranking.MEANING_SHOWN_BY] == [0, 1, 2, 3, 7] and sorted(shown) == list(range(8))
    near = dict.fromkeys(range(8), 0.4) | {2: 0.9}  # already shown: the order stays
    assert ranking._nearest_in_meaning_shown(scored, near) == scored


def test_the_ticket_text_puts_the_subject_first_and_reads_free_text_evidence():
    text = semantic.ticket_text(
        subject="Checkout fails",
        description="Tried twice.",
        evidence={"error_message": "Card declined", "payment_method": "paypal", "steps_to_reproduce": "Pay"},
    )
    assert text == "Checkout fails\nTried twice.\nCard declined\nPay"


@pytest.mark.embedding_model
def test_a_model_name_is_fetched_once_into_the_cache_then_found_there_offline(model_setting, settings, tmp_path):
    shared = Path(settings.TEST_EMBEDDING_MODEL)
    if not shared.is_absolute():
        shared = Path(settings.BASE_DIR) / shared
    fetched = tmp_path / "sentence-transformers--all-MiniLM-L6-v2"
    (fetched / "onnx").mkdir(parents=True)
    # As a fetch leaves it (links, not copies: the model stays in one place).
    (fetched / "onnx" / "model.onnx").symlink_to(shared / "model.onnx")
    for name in ("tokenizer.json", "config.json", "tokenizer_config.json"):
        (fetched / name).symlink_to(shared / name)
    settings.CLUSTERING_EMBEDDING_CACHE = tmp_path
    model_setting("sentence-transformers/all-MiniLM-L6-v2")
    found, reason = encoder_status()
    assert reason == "" and found.dimension == 384 and found.files.onnx == fetched / "onnx" / "model.onnx"
    assert embedding_model_check() == []


@pytest.mark.embedding_model
def test_web_requests_can_be_kept_free_of_the_model(settings):
    clusters = file_known_bugs()
    settings.CLUSTERING_EMBEDDING_IN_REQUESTS = False
    found = cluster_suggestions(subject=PARAPHRASES["dashboard"])
    assert clusters["dashboard"].pk not in {s.cluster.pk for s in found}  # by words only
    assert cluster_suggestions(subject="Dashboard loading slow")[0].cluster == clusters["dashboard"]
