"""Synapse from a native bundle with S3 media, against a real S3-compatible server on loopback.

The S3 server is moto's standalone server (PyPI `moto[server]`): it speaks the S3 REST API
that boto3, and so synapse-s3-storage-provider, uses, and it installs with pip into the test
environment. MinIO is not packaged by Debian, and no other S3 server is in the registries this
project reaches. moto keeps objects in memory: it proves the provider's calls and the config
the bundle writes, not an S3 store's durability or its permissions. The compose image with the
provider cannot be built here (no registry to pull matrixdotorg/synapse from): that the
Dockerfile's pin is the release installed here is checked, its build is not.
"""

import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for, facts_with
from tests.integration.postgres_server import free_port
from tests.integration.test_synapse_config import _running_synapse, _write
from tests.waiting import wait_until
from wizard.bundle import media, versions
from wizard.bundle.context import RenderContext

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BUCKET = "matrix-media"
ACCESS_KEY_ID = "AKIAMATRIXTEST"
SECRET = "s3SECRETs3secretS3SECRET"


def require_module(module: str, package: str) -> Any:
    """Return an importable module, skipping the test without it (failing it under CI)."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        message = f"{package} is not installed in the test environment (.[test] installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return importlib.import_module(module)


@pytest.fixture(name="s3_endpoint")
def s3_endpoint_fixture(tmp_path: Path) -> Iterator[str]:
    """Run moto's S3 server on a free loopback port with an empty bucket; yield its URL."""
    require_module("moto.server", "moto[server]")
    boto3: Any = require_module("boto3", "boto3")
    errors: Any = require_module("botocore.exceptions", "botocore")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (tmp_path / "moto.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET,
        )

        def bucket_made() -> bool:
            try:
                client.create_bucket(Bucket=BUCKET)
            except errors.EndpointConnectionError:  # until the server listens
                return process.poll() is not None
            return True

        wait_until(bucket_made, "moto's S3 server accepts a bucket")
        assert process.poll() is None, (tmp_path / "moto.log").read_text()
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


def _objects(endpoint: str) -> list[str]:
    boto3: Any = require_module("boto3", "boto3")
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET,
    )
    listed = client.list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]


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
        keys = _objects(s3_endpoint)
        # The local copy goes: the file can only come back from the bucket now.
        shutil.rmtree(Path(ctx.media_host_dir) / "local_content")
        status, downloaded = _request(
            f"{base}/_matrix/client/v1/media/download/{server}/{media_id}", None, **auth
        )

    # Synapse's local media layout, which the provider mirrors as object keys.
    assert f"local_content/{media_id[:2]}/{media_id[2:4]}/{media_id[4:]}" in keys
    assert status == 200
    assert downloaded == body
