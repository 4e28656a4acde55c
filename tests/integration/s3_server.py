"""A real S3-compatible server for the media tests: moto's standalone server, with a bucket.

moto (PyPI `moto[server]`) speaks the S3 REST API that boto3, and so Synapse's
synapse-s3-storage-provider, uses, and it installs with pip into the test environment. MinIO
is not packaged by Debian, and no other S3 server is in the registries this project reaches.
moto keeps objects in memory: it proves the provider's calls and the config the bundle writes,
not an S3 store's durability or its permissions.
"""

import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.postgres_server import free_port
from tests.waiting import wait_until

BUCKET = "matrix-media"
ACCESS_KEY_ID = "AKIAMATRIXTEST"
SECRET = "s3SECRETs3secretS3SECRET"
REGION = "us-east-1"


def require_module(module: str, package: str) -> Any:
    """Return an importable module, skipping the test without it (failing it under CI)."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        message = f"{package} is not installed in the test environment (.[test] installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return importlib.import_module(module)


def s3_client(endpoint: str) -> Any:
    """Return a boto3 S3 client for the test bucket's server."""
    boto3: Any = require_module("boto3", "boto3")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET,
    )


@contextmanager
def running_s3(folder: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """Run moto's S3 server on a free port of host with an empty bucket; yield its URL."""
    require_module("moto.server", "moto[server]")
    errors: Any = require_module("botocore.exceptions", "botocore")
    port = free_port()
    endpoint = f"http://{host}:{port}"
    log_path = folder / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        client = s3_client(endpoint)

        def bucket_made() -> bool:
            try:
                client.create_bucket(Bucket=BUCKET)
            except errors.EndpointConnectionError:  # until the server listens
                return process.poll() is not None
            return True

        wait_until(bucket_made, "moto's S3 server accepts a bucket")
        assert process.poll() is None, log_path.read_text()
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


def object_keys(endpoint: str) -> list[str]:
    """Return the keys of every object in the test bucket."""
    listed = s3_client(endpoint).list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]
