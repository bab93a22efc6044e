"""Run a real WordPress from Debian's packages for the tests, and nothing else of the machine's.

* MariaDB in a private data directory (``mariadb-install-db``), on its own socket and port
  of 127.0.0.1, as root with no password: no system database is touched.
* WordPress itself is Debian's ``/usr/share/wordpress`` (6.1). Debian's own ``wp-config.php``
  reads ``/etc/wordpress/config-<host>.php``; to leave ``/etc`` alone, the site gets a private
  docroot: copies of WordPress's top-level PHP files (so ``ABSPATH`` is the docroot) beside
  our ``wp-config.php``, with ``wp-admin`` and ``wp-includes`` linked to Debian's. The content
  folder is private too: the ``twentytwentythree`` theme (Debian's package, linked), and one
  must-use plugin, ``storefront-loopback.php``, that lets WordPress fetch the Storefront app
  on 127.0.0.1.
* ``php -S 127.0.0.1:<port>`` serves it. WordPress is installed with its own ``wp_install()``
  (``wp.php``, beside this file); users and posts are made with ``wp_insert_user()`` and
  ``wp_insert_post()`` as the user who writes them, so kses filters an Author's HTML exactly
  as the editor would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

WORDPRESS = Path("/usr/share/wordpress")
THEME = WORDPRESS / "wp-content" / "themes" / "twentytwentythree"
HERE = Path(__file__).resolve().parent
TOOLS = ("mariadb-install-db", "mariadbd", "mariadb", "php")


def missing() -> str | None:
    """Why a WordPress cannot run here (a missing package), or ``None``."""
    for tool in TOOLS:
        if not (shutil.which(tool) or Path("/usr/sbin", tool).exists()):
            return f"{tool} is not installed (apt-get install mariadb-server php-cli)"
    if not (WORDPRESS / "wp-settings.php").exists():
        return "Debian's wordpress package is not installed"
    if not THEME.is_dir():
        return "wordpress-theme-twentytwentythree is not installed"
    check = subprocess.run(["php", "-m"], capture_output=True, text=True)
    if "mysqli" not in check.stdout:
        return "PHP has no mysqli (apt-get install php-mysql)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


WP_CONFIG = """<?php
// Written by tests/wordpress/site.py for a throwaway test site.
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', 'localhost:{socket}' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{salts}
$table_prefix = 'wp_';
define( 'WP_HOME', '{url}' );
define( 'WP_SITEURL', '{url}' );
define( 'WP_CONTENT_DIR', '{content}' );
define( 'WP_CONTENT_URL', '{url}/wp-content' );
define( 'WP_DEBUG', false );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
// No network: WordPress may fetch 127.0.0.1 only (the Storefront app).
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_DEFAULT_THEME', 'twentytwentythree' );
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""
SALT_KEYS = (
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
)


class WordPress:
    """One WordPress site under ``root``; :meth:`start` it, :meth:`stop` it."""

    def __init__(self, root: Path, app_port: int):
        self.root = root
        self.app_port = app_port
        self.docroot = root / "site"
        self.content = root / "content"
        self.datadir = root / "mysql"
        self.socket = root / "mysql.sock"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "wordpress.log"
        self._processes: list[subprocess.Popen] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> WordPress:
        self.root.mkdir(parents=True, exist_ok=True)
        self._start_mariadb()
        self._make_docroot()
        self.admin_id = int(self.wp("install", "Storefront test blog", os.urandom(9).hex()))
        self._start_php()
        return self

    def stop(self) -> None:
        for process in reversed(self._processes):
            # Each server leads its own process group: nothing it forked outlives it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self._processes.clear()

    def _spawn(self, args: list[str], log: Path, **kwargs) -> subprocess.Popen:
        out = log.open("ab")
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
        out.close()
        self._processes.append(process)
        return process

    def _start_mariadb(self) -> None:
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
        )
        mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        process = self._spawn(
            [
                mariadbd,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={free_port()}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.root / 'mysql.pid'}",
                "--user=root",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
            ],
            self.root / "mariadb.log",
        )

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: see {self.root / 'mariadb.log'}")
            return self.socket.exists() and self.sql("SELECT 1").returncode == 0

        _wait(ready, "MariaDB")
        self.sql("CREATE DATABASE wordpress CHARACTER SET utf8mb4", check=True)

    def sql(self, statement: str, check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-e", statement],
            capture_output=True,
            text=True,
            check=check,
        )

    def _make_docroot(self) -> None:
        self.docroot.mkdir()
        for entry in WORDPRESS.iterdir():
            if entry.name in ("wp-config.php", "wp-content"):
                continue
            if entry.is_dir():
                (self.docroot / entry.name).symlink_to(entry)
            else:
                shutil.copy(entry, self.docroot / entry.name)
        shutil.copy(HERE / "wp.php", self.docroot / "storefront-wp.php")
        for folder in ("themes", "plugins", "mu-plugins", "uploads"):
            (self.content / folder).mkdir(parents=True)
        (self.content / "themes" / THEME.name).symlink_to(THEME)
        shutil.copy(HERE / "storefront-loopback.php", self.content / "mu-plugins")
        # The browser fetches theme assets under /wp-content/ from the docroot.
        (self.docroot / "wp-content").symlink_to(self.content)
        salts = "\n".join(f"define( '{key}', '{os.urandom(24).hex()}' );" for key in SALT_KEYS)
        (self.docroot / "wp-config.php").write_text(
            WP_CONFIG.format(socket=self.socket, salts=salts, url=self.url, content=self.content),
            encoding="utf-8",
        )

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "STOREFRONT_WP_HOST": f"127.0.0.1:{self.port}",
            "STOREFRONT_WP_APP_PORT": str(self.app_port),
        }

    def _start_php(self) -> None:
        process = self._spawn(
            ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.docroot)],
            self.log,
            env=self._env(),  # one process: no worker children to leave behind
            cwd=self.docroot,
        )

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"php -S exited: see {self.log}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False

        _wait(ready, "php -S")

    # ------------------------------------------------------------------ content

    def wp(self, *args: str, stdin: str = "") -> str:
        """Run one task of ``wp.php`` (install, user, post, kses); return its output."""
        result = subprocess.run(
            ["php", str(self.docroot / "storefront-wp.php"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self._env(),
            cwd=self.docroot,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"wp.php {args[0]} failed: {result.stderr or result.stdout}")
        return result.stdout.strip() if args[0] != "kses" else result.stdout

    def add_user(self, login: str, role: str) -> int:
        return int(self.wp("user", login, role))

    def add_post(self, user_id: int, title: str, content: str) -> str:
        """Publish a post written by ``user_id``; return its URL."""
        post_id = int(self.wp("post", str(user_id), title, stdin=content))
        return f"{self.url}/?p={post_id}"

    def kses(self, user_id: int, html: str) -> str:
        """What WordPress's kses keeps of ``html`` in a post by ``user_id``."""
        return self.wp("kses", str(user_id), stdin=html)
