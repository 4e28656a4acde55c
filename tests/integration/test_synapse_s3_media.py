"""Synapse from a native bundle with S3 media, against a real S3-compatible server on loopback.

The S3 server is moto's (tests/integration/s3_server.py says why). The compose bundle's image
with the provider is built and run by tests/compose/test_compose_stack.py.
"""

import importlib
import importlib.metadata
import importlib.util
import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, facts_with
from tests.integration.postgres_server import free_port
from tests.integration.s3_server import ACCESS_KEY_ID, BUCKET, SECRET, object_keys, running_s3
from tests.integration.test_synapse_config import _running_synapse, _write
from wizard.bundle import media, versions
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(name="s3_endpoint")
def s3_endpoint_fixture(tmp_path: Path) -> Iterator[str]:
    """Run moto's S3 server on a free loopback port with an empty bucket; yield its URL."""
    with running_s3(tmp_path) as endpoint:
        yield endpoint


def _request(url: str, data: bytes | None, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def test_the_image_pins_the_provider_release_proven_here() -> None:
    installed = importlib.metadata.version(media.S3_PROVIDER_PACKAGE)
    assert installed == versions.S3_STORAGE_PROVIDER_VERSION


def test_a_file_uploaded_to_synapse_lands_in_the_bucket_and_reads_back_from_it(
    tmp_path: Path, s3_endpoint: str
) -> None:
    port = free_port()
    answers = answers_for(
        deployment__kind="native",
        deployment__prefix=str(tmp_path),
        deployment__ports__homeserver=port,
        database="sqlite",
        registration__mode="open",
        media__backend="s3",
        media__s3={"bucket": BUCKET, "endpoint": s3_endpoint, "access_key_id": ACCESS_KEY_ID},
    )
    secrets = FIXED_SECRETS.model_copy(update={"s3_secret_access_key": SECRET})
    ctx = RenderContext(answers=answers, facts=facts_with(), secrets=secrets)
    base = f"http://127.0.0.1:{port}"
    body = b"a file kept in S3 by matrix-wizard's bundle\n"

    with _running_synapse(_write(ctx), f"{base}/_matrix/client/versions"):
        _, registered = _request(
            f"{base}/_matrix/client/v3/register",
            json.dumps(
                {
                    "username": "alice",
                    "password": "pw-alice-1234",
                    "auth": {"type": "m.login.dummy"},
                }
            ).encode(),
            **{"Content-Type": "application/json"},
        )
        token = json.loads(registered)["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        _, uploaded = _request(
            f"{base}/_matrix/media/v3/upload?filename=note.txt",
            body,
            **auth,
            **{"Content-Type": "text/plain"},
        )
        server, media_id = json.loads(uploaded)["content_uri"].removeprefix("mxc://").split("/")
        keys = object_keys(s3_endpoint)
        # The local copy goes: the file can only come back from the bucket now.
        shutil.rmtree(Path(ctx.media_host_dir) / "local_content")
        status, downloaded = _request(
            f"{base}/_matrix/client/v1/media/download/{server}/{media_id}", None, **auth
        )

    # Synapse's local media layout, which the provider mirrors as object keys.
    assert f"local_content/{media_id[:2]}/{media_id[2:4]}/{media_id[4:]}" in keys
    assert status == 200
    assert downloaded == body
