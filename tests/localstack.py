"""LocalStack's S3 for the one suite that needs S3 to check presigned-POST policies.

moto stores whatever a form upload sends; LocalStack (``localstack-core``, run
on the host without docker) checks the policy: content-length-range, the
exact conditions on key and Content-Type, and the expiry. ``make test``
installs the pinned version into a venv of its own (its pins clash with the
app's botocore) and passes its interpreter as ``ZEBROS_TEST_LOCALSTACK_PYTHON``;
this module starts it on a free port, S3 only, nothing kept on disk.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

from tests.processes import stop as end_process

PYTHON_ENV = "ZEBROS_TEST_LOCALSTACK_PYTHON"
START_SECONDS = 60.0
INSTALL = (
    "`make test` installs it (`make s3-policy-server`: a venv with "
    "tests/s3_policy_requirements.txt, Python 3.11 from PyPI); or set "
    f"{PYTHON_ENV} to the python of a venv holding localstack-core 4.6.0."
)


class Unavailable(RuntimeError):
    """LocalStack cannot run here; the message says what to install."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalStackS3:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="zebros-localstack-")
        self.url = ""

    def start(self) -> str:
        python = os.environ.get(PYTHON_ENV, "")
        if not python or not Path(python).exists():
            raise Unavailable(f"LocalStack is not installed ({PYTHON_ENV}={python!r}). {INSTALL}")
        port = _free_port()
        self._log = open(Path(self._dir.name) / "localstack.log", "wb")  # noqa: SIM115 (kept open)
        self._process = subprocess.Popen(
            [python, "-m", "localstack.runtime.main"],
            env=self._environment(port),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        self._wait()
        return self.url

    def _environment(self, port: int) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
        return keep | {
            "SERVICES": "s3",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",
            "PERSISTENCE": "0",
            "DNS_ADDRESS": "0",  # no DNS server of its own, no lookup of localstack.cloud
            "DISABLE_EVENTS": "1",  # no analytics calls home
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "LOCALSTACK_VOLUME_DIR": str(Path(self._dir.name) / "volume"),
            # Presigned GETs are checked too (signature, expiry): the secret must be "test".
            "S3_SKIP_SIGNATURE_VALIDATION": "0",
        }

    def _wait(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise Unavailable(f"LocalStack exited: {self.log()[-2000:]}")
            try:
                health = httpx.get(f"{self.url}/_localstack/health", timeout=1).json()
                if health.get("services", {}).get("s3") in {"available", "running"}:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        raise Unavailable(
            f"LocalStack did not start within {START_SECONDS:.0f}s: {self.log()[-2000:]}"
        )

    def log(self) -> str:
        path = Path(self._dir.name) / "localstack.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        end_process(self._process, timeout=20)
        if self._log is not None:
            self._log.close()
        self._dir.cleanup()
