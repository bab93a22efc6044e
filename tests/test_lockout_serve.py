"""The lock-out rules on the real server: `storefront serve` with two workers.

Behind ``STOREFRONT_PROXY_COUNT=1`` the client is the ``X-Forwarded-For`` address, so one
test machine plays many clients. The count lives in the instance folder's SQLite file,
which both workers share.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from storefront.desk.throttle import FREE

from .test_desk import PASSWORD, csrf_of
from .test_lockout import burst_bound
from .test_serve import START_TIMEOUT, free_port, server_env, storefront_command

pytestmark = pytest.mark.slow


@contextmanager
def desk_server(tmp_path: Path, *args: str) -> Iterator[str]:
    """`storefront serve --workers 2` behind one (pretended) proxy, with a desk password."""
    env = server_env(tmp_path) | {"STOREFRONT_PROXY_COUNT": "1"}
    subprocess.run(
        storefront_command("admin", "set-password"),
        input=PASSWORD + "\n",
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            storefront_command("serve", "--port", str(port), "--workers", "2", *args),
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if requests.get(url + "/healthz", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # workers still importing
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    assert "has a password" in log.read_text()  # serve says so at start


def login_form(url: str, address: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = address
    page = session.get(url + "/admin/login", timeout=30)
    return session, csrf_of(page.text)


def test_a_burst_from_one_client_on_two_workers_gets_only_the_free_attempts(tmp_path):
    with desk_server(tmp_path, "--threads", "8") as url:
        sessions = [login_form(url, "203.0.113.66") for _ in range(16)]
        start = threading.Barrier(16)

        def guess(n: int) -> tuple[int, float]:
            session, token = sessions[n]
            start.wait()
            response = session.post(
                url + "/admin/login",
                data={"csrf_token": token, "password": "wrong password!"},
                allow_redirects=False,
                timeout=60,
            )
            return response.status_code, time.monotonic()

        began = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(guess, range(16)))
        lasted = max(at for _, at in answers) - began
        statuses = [status for status, _ in answers]
        assert set(statuses) <= {401, 429}, statuses
        assert FREE <= statuses.count(401) <= burst_bound(lasted), (statuses, lasted)
        # Meanwhile the author, from her own address, signs in at once on either worker.
        for _ in range(2):
            session, token = login_form(url, "198.51.100.20")
            response = session.post(
                url + "/admin/login",
                data={"csrf_token": token, "password": PASSWORD},
                allow_redirects=False,
                timeout=60,
            )
            assert response.status_code == 302, response.text


def test_a_strangers_large_upload_is_refused_before_its_body_is_read(tmp_path):
    """Headers and 1 KB of a 5 MB body: the 401 must come back without the rest."""
    with desk_server(tmp_path) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            head = (
                "POST /admin/cover/books%5B0%5D HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {5 * 1024 * 1024}\r\n"
                "\r\n"
            )
            sock.sendall(head.encode("ascii") + b"--xyz\r\n" + b"x" * 1024)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)  # a server reading the body first never answers
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
