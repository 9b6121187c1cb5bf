"""An S3-compatible server (moto) on loopback for the object-storage tests, one per test session.

The AWS variables point boto3, delta-rs and Sail at it; the credentials are moto's dummies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_ALLOW_HTTP",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """Start ``moto.server`` on a free loopback port and export the AWS variables for it."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the moto S3 server did not start on {endpoint}")
            time.sleep(0.2)
    saved = {name: os.environ.get(name) for name in AWS_VARIABLES}
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="moto-test-key",
        AWS_SECRET_ACCESS_KEY="moto-test-secret",
        AWS_REGION="us-east-1",
        AWS_ALLOW_HTTP="true",
    )
    from omnilake.storage.filesystem import reset_clients

    reset_clients()
    try:
        yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_clients()
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def bucket(s3_endpoint) -> str:
    """A fresh, empty bucket for this test; its name."""
    from omnilake.storage.filesystem import filesystem_for

    name = f"lake-{uuid.uuid4().hex[:12]}"
    filesystem_for("s3://x").client.create_bucket(Bucket=name)
    return name
