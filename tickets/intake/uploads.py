"""Attachments from the filing form: what is accepted, and keeping uploads across a refused submit.

A file that passes the checks is written to the default storage (local files,
or S3-compatible storage by setting) as soon as it arrives, and the form carries
a signed token for it. If the report is refused for another reason the agent
does not have to pick the file again; when the report is filed the stored file
becomes an `Attachment` of the ticket.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import get_valid_filename

from tickets.models import Attachment, Ticket

_SALT = "tickets.intake.uploads"
TOKEN_MAX_AGE = 60 * 60 * 24
_PNG, _JPEG, _GIF, _WEBP = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", (b"GIF87a", b"GIF89a"), b"RIFF"

# extension -> (content type stored, attachment kind)
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    ".png": ("image/png", Attachment.Kind.SCREENSHOT),
    ".jpg": ("image/jpeg", Attachment.Kind.SCREENSHOT),
    ".jpeg": ("image/jpeg", Attachment.Kind.SCREENSHOT),
    ".gif": ("image/gif", Attachment.Kind.SCREENSHOT),
    ".webp": ("image/webp", Attachment.Kind.SCREENSHOT),
    ".log": ("text/plain", Attachment.Kind.CONSOLE_LOG),
    ".txt": ("text/plain", Attachment.Kind.CONSOLE_LOG),
    ".json": ("application/json", Attachment.Kind.CONSOLE_LOG),
    ".har": ("application/json", Attachment.Kind.HAR),
}
ALLOWED_DESCRIPTION = "screenshots (PNG, JPEG, GIF, WebP), console logs (.log, .txt, .json) and HAR files (.har)"


@dataclass(frozen=True)
class StashedUpload:
    """A checked file already in storage, waiting for its ticket."""

    path: str
    name: str
    size: int
    content_type: str
    kind: str
    evidence_key: str
    user_id: int | None

    @property
    def token(self) -> str:
        return signing.dumps(asdict(self), salt=_SALT, compress=True)


def max_bytes() -> int:
    return settings.ATTACHMENT_MAX_BYTES


def upload_check(file: UploadedFile) -> tuple[str, str]:
    """Return (content type, kind) of an acceptable file, or raise ValidationError saying what is allowed."""
    name = file.name or "file"
    ext = os.path.splitext(name)[1].lower()
    if ext not in ALLOWED_TYPES:
        raise ValidationError(f"{name}: files of this type are not accepted; attach {ALLOWED_DESCRIPTION}.")
    if file.size > max_bytes():
        raise ValidationError(
            f"{name} is {filesizeformat(file.size)}; the largest file accepted is {filesizeformat(max_bytes())}."
        )
    if file.size == 0:
        raise ValidationError(f"{name} is empty; attach the file again.")
    content_type, kind = ALLOWED_TYPES[ext]
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    if kind == Attachment.Kind.SCREENSHOT and not _is_image(head, content_type):
        raise ValidationError(
            f"{name} is not a {content_type.split('/')[1].upper()} image; attach the screenshot file."
        )
    if kind != Attachment.Kind.SCREENSHOT and b"\x00" in head:
        raise ValidationError(f"{name} is not a text file; a console log or HAR file is plain text.")
    if kind == Attachment.Kind.HAR and not _is_har(file):
        raise ValidationError(f'{name} is not a HAR file: it must be JSON with a top-level "log" entry.')
    return content_type, kind


def _is_image(head: bytes, content_type: str) -> bool:
    if content_type == "image/png":
        return head.startswith(_PNG)
    if content_type == "image/jpeg":
        return head.startswith(_JPEG)
    if content_type == "image/gif":
        return head.startswith(_GIF)
    return head.startswith(_WEBP) and head[8:12] == b"WEBP"


def _is_har(file: UploadedFile) -> bool:
    file.seek(0)
    try:
        document = json.loads(file.read().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    finally:
        file.seek(0)
    return isinstance(document, dict) and isinstance(document.get("log"), dict)


def upload_stash(*, file: UploadedFile, evidence_key: str = "", user=None) -> StashedUpload:
    """Check `file` and write it to storage; raises ValidationError (nothing stored) when it is refused."""
    content_type, kind = upload_check(file)
    safe_name = get_valid_filename(os.path.basename(file.name))[:150] or "file"
    path = default_storage.save(f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}/{safe_name}", file)
    return StashedUpload(
        path=path,
        name=os.path.basename(file.name)[:255],
        size=file.size,
        content_type=content_type,
        kind=kind,
        evidence_key=evidence_key,
        user_id=getattr(user, "pk", None),
    )


def upload_from_token(token: str, *, user) -> StashedUpload | None:
    """The stashed upload a token stands for, if the token is genuine, recent and the user's own."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=TOKEN_MAX_AGE)
        upload = StashedUpload(**data)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if upload.user_id != getattr(user, "pk", None) or not upload.path.startswith("attachments/"):
        return None
    return upload


def attachment_create(*, ticket: Ticket, upload: StashedUpload, evidence_key: str, user=None) -> Attachment:
    """Record a stashed upload as an attachment of `ticket` (the file is already in storage)."""
    attachment = Attachment(
        ticket=ticket,
        original_name=upload.name,
        content_type=upload.content_type,
        size=upload.size,
        kind=upload.kind,
        evidence_key=evidence_key,
        uploaded_by=user,
    )
    attachment.file.name = upload.path
    attachment.save()
    return attachment


def upload_purge_stale(*, older_than: timedelta | None = None, months: int = 2) -> int:
    """Delete stashed files that no attachment uses once their form token has expired; returns how many.

    Only the last `months` upload folders are walked, so run it at least monthly
    (daily is usual); a file still referenced by an Attachment is never deleted.
    """
    cutoff = timezone.now() - (older_than or timedelta(seconds=TOKEN_MAX_AGE))
    candidates = []
    month = timezone.now().date().replace(day=1)
    for _ in range(months):
        folder = f"attachments/{month:%Y/%m}"
        month = (month - timedelta(days=1)).replace(day=1)  # the month before, for the next round
        if not default_storage.exists(folder):
            continue
        for upload_dir in default_storage.listdir(folder)[0]:
            candidates += [
                f"{folder}/{upload_dir}/{name}" for name in default_storage.listdir(f"{folder}/{upload_dir}")[1]
            ]
    purged = 0
    for start in range(0, len(candidates), 500):
        batch = candidates[start : start + 500]
        used = set(Attachment.objects.filter(file__in=batch).values_list("file", flat=True))
        for path in batch:
            if path not in used and default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                purged += 1
    return purged
