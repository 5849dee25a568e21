"""Test settings: the real settings with test-only defaults, never used to serve."""

import hashlib
import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# One scratch folder per checkout, so test runs of two clones never share a SQLite file.
_checkout = hashlib.sha1(os.path.dirname(os.path.dirname(os.path.abspath(__file__))).encode()).hexdigest()[:8]
os.environ.setdefault("TRIAGE_VAR_DIR", os.path.join(tempfile.gettempdir(), f"triage-tests-var-{_checkout}"))

from triage.settings import *  # noqa: E402,F403

# Tests rank by words only, like a deployment without a model; the tests marked `embedding_model` switch
# the model in CLUSTERING_EMBEDDING_MODEL on (CI sets it to the shared all-MiniLM-L6-v2 directory).
TEST_EMBEDDING_MODEL = CLUSTERING_EMBEDDING_MODEL  # noqa: F405
CLUSTERING_EMBEDDING_MODEL = ""

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MEDIA_ROOT = tempfile.mkdtemp(prefix="triage-test-media-")
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405 - whitenoise warns when it is missing
# Rate-limit counters must not leak between test runs through a shared Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests seed the demo organisation on the test database (PostgreSQL in CI, where DEBUG is off).
DEMO_DATA_ALLOWED = True
# The read replica is the test database itself (a mirror); routing to it is off unless a test turns
# REPLICA_READS on (tests/triage/test_replica.py) and declares both databases.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
REPLICA_READS = False
