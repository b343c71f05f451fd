"""A local S3-compatible server (moto's server mode) on loopback, with credentials checked.

One server for the session, in its own process: an IAM user allowed s3:* is made while
anything goes, then moto is told to check every request's signature, so a wrong key is
refused as S3 refuses it. Each test gets a bucket of its own, and the storage settings
(ARTIFACT_STORAGE_URL and the AWS_* variables, read as config/settings.py reads them).
"""

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass

import boto3
import pytest
import requests

from config.settings import artifact_storages

# The real MLflow client against a live server, as tests/mlflow sets it up.
from tests.mlflow.conftest import (  # noqa: F401
    _live_server_without_nagle,
    alice,
    make_token,
    tracking,
)
from tests.reports.test_worker import free_port, wait_for

REGION = "eu-west-3"
PREFIX = "team/targetline"


@dataclass
class S3Server:
    url: str
    access_key: str
    secret_key: str

    def client(self, *, access_key: str | None = None, secret_key: str | None = None):
        return boto3.client("s3", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=access_key or self.access_key,
                            aws_secret_access_key=secret_key or self.secret_key)

    def env(self, bucket: str, **override: str) -> dict[str, str]:
        """The variables a Targetline process is started with to keep its files there."""
        return {"ARTIFACT_STORAGE_URL": f"s3://{bucket}/{PREFIX}", "AWS_ENDPOINT_URL": self.url,
                "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": REGION, **override}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)

    def answers() -> bool:
        try:
            return requests.get(f"{url}/moto-api/", timeout=2).ok
        except requests.RequestException:
            return False
    try:
        wait_for(answers, 60, "moto's S3 server to answer")
        iam = boto3.client("iam", endpoint_url=url, region_name=REGION,
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="targetline")
        iam.put_user_policy(UserName="targetline", PolicyName="artifacts",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="targetline")["AccessKey"]
        # From now on every request must be signed with a key moto knows.
        requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield S3Server(url, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        process.terminate()
        process.wait(20)
        log.close()


@pytest.fixture
def bucket(s3_server) -> str:
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def use_storage(settings, monkeypatch, env: dict[str, str]) -> None:
    """This process stores its files as a server started with `env` would."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = artifact_storages(env["ARTIFACT_STORAGE_URL"])


@pytest.fixture
def s3_storage(settings, monkeypatch, s3_server, bucket) -> str:
    """Run artifacts and report PDFs in `bucket` under PREFIX; the bucket's name."""
    use_storage(settings, monkeypatch, s3_server.env(bucket))
    return bucket


def keys(s3_server, bucket: str) -> list[str]:
    """Every object in the bucket, by key."""
    answer = s3_server.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def object_bytes(s3_server, bucket: str, key: str) -> bytes:
    return s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
