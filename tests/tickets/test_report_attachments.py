"""Attachments on the report form: allowed types, the size limit, kept across a refused submit."""

import json
import os
import re
import time
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db

URL = reverse("tickets:report_new")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HAR = json.dumps({"log": {"version": "1.2", "entries": []}}).encode()


def perf_post(**overrides):
    data = {
        "feedback_kind": "bug_report",
        "ticket_type": "performance_issue",
        "subject": "Reports page takes a minute",
        "submission_id": "f" * 32,
        "ev-page_action": "Reports > Export CSV",
        "ev-load_time_seconds": "62",
        "action": "file",
    }
    data.update(overrides)
    return data


def test_har_file_answers_its_evidence_field_and_is_stored(client, agent):
    client.force_login(agent)
    response = client.post(URL, perf_post(**{"ev-har_file": SimpleUploadedFile("slow.har", HAR)}))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    attachment = ticket.attachments.get()
    assert ticket.evidence["har_file"] == "slow.har"
    assert (attachment.kind, attachment.evidence_key, attachment.content_type) == (
        "har",
        "har_file",
        "application/json",
    )
    assert default_storage.exists(attachment.file.name) and attachment.uploaded_by == agent


def test_general_attachments_take_several_files(client, agent):
    client.force_login(agent)
    files = [SimpleUploadedFile("console.log", b"TypeError: x is undefined"), SimpleUploadedFile("shot.png", PNG)]
    client.post(URL, perf_post(attachments=files))
    kinds = sorted(Attachment.objects.values_list("kind", flat=True))
    assert kinds == ["console_log", "screenshot"]


def test_a_file_of_another_type_is_refused_with_what_is_allowed(client, agent):
    client.force_login(agent)
    response = client.post(URL, perf_post(attachments=[SimpleUploadedFile("virus.exe", b"MZ...")]))
    html = response.content.decode()
    assert response.status_code == 400
    assert "virus.exe: files of this type are not accepted" in html and "HAR files (.har)" in html
    assert not Ticket.objects.exists()


def test_a_file_over_the_size_limit_is_refused_with_the_limit(client, agent, settings):
    settings.ATTACHMENT_MAX_BYTES = 2048
    client.force_login(agent)
    big = SimpleUploadedFile("big.log", b"x" * 5000)
    html = client.post(URL, perf_post(attachments=[big])).content.decode()
    assert "big.log is 4.9\xa0KB; the largest file accepted is 2.0\xa0KB." in html


def test_a_fake_screenshot_or_har_is_refused(client, agent):
    client.force_login(agent)
    html = client.post(
        URL,
        perf_post(
            attachments=[SimpleUploadedFile("shot.png", b"not an image")],
            **{"ev-har_file": SimpleUploadedFile("x.har", b'{"no": "log"}')},
        ),
    ).content.decode()
    assert "shot.png is not a PNG image" in html
    assert "x.har is not a HAR file" in html


def test_an_accepted_file_is_kept_when_the_report_is_refused_for_something_else(client, agent):
    client.force_login(agent)
    response = client.post(URL, perf_post(subject="", **{"ev-har_file": SimpleUploadedFile("slow.har", HAR)}))
    html = response.content.decode()
    assert response.status_code == 400 and "A subject is required" in html
    token = re.search(r'name="pending_upload" value="([^"]+)" checked', html).group(1)
    assert "Keep slow.har" in html

    client.post(URL, perf_post(pending_upload=token))
    ticket = Ticket.objects.get()
    assert ticket.evidence["har_file"] == "slow.har"
    assert ticket.attachments.get().original_name == "slow.har"


def test_an_upload_token_of_another_user_is_ignored(client, agent, product_lead):
    client.force_login(product_lead)
    html = client.post(URL, perf_post(subject="", attachments=[SimpleUploadedFile("a.log", b"log")])).content.decode()
    token = re.search(r'name="pending_upload" value="([^"]+)"', html).group(1)
    client.force_login(agent)
    client.post(URL, perf_post(pending_upload=token))
    assert not Attachment.objects.exists()


def test_abandoned_uploads_are_purged_and_attached_ones_kept(client, agent):
    client.force_login(agent)
    client.post(URL, perf_post(subject="", attachments=[SimpleUploadedFile("abandoned.log", b"a")]))
    client.post(URL, perf_post(submission_id="1" * 32, attachments=[SimpleUploadedFile("kept.log", b"k")]))
    kept = Attachment.objects.get().file.name
    abandoned = next(
        f"{folder}/{name}"
        for folder in _upload_dirs()
        for name in default_storage.listdir(folder)[1]
        if name == "abandoned.log"
    )
    old = time.time() - 2 * 24 * 3600
    for path in (kept, abandoned):
        os.utime(default_storage.path(path), (old, old))
    out = StringIO()
    call_command("purge_stale_uploads", stdout=out)
    assert "Deleted 1 stale upload(s)." in out.getvalue()
    assert default_storage.exists(kept) and not default_storage.exists(abandoned)


def _upload_dirs():
    month = timezone.now().strftime("attachments/%Y/%m")
    return [f"{month}/{d}" for d in default_storage.listdir(month)[0]]
