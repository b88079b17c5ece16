"""Remote sources without the network: bare git repositories on disk that git reaches as
``https://github.com/...`` and ``https://gitlab.com/...`` through a test-only global git
configuration (``url.<base>.insteadOf``), and an HTTPS server on loopback whose certificate a
test CA signs (trusted through ``SSL_CERT_FILE``)."""

import contextlib
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import trustme

from tests.conftest import TreeSpec, write_tree

HOSTS = ("github.com", "gitlab.com")


class GitHost:
    """Repositories served as ``https://<host>/<owner>/<repo>(.git)``."""

    def __init__(self, root: Path, monkeypatch, *, credentials: str = "") -> None:
        self.root = root
        self.repos = root / "repos"
        self.work = root / "work"
        root.mkdir(parents=True, exist_ok=True)
        config = root / "gitconfig"
        rules = []
        for host in HOSTS:
            base = f"file://{self.repos / host}/"
            rules.append(f'[url "{base}"]\n\tinsteadOf = https://{host}/\n')
            if credentials:
                rules.append(f"\tinsteadOf = https://{credentials}@{host}/\n")
        config.write_text(
            "".join(rules)
            + "[user]\n\tname = Test\n\temail = test@example.org\n"
            + "[init]\n\tdefaultBranch = main\n"
        )
        monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
        monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    def url(self, repo: str, host: str = "github.com") -> str:
        return f"https://{host}/{repo}"

    def bare(self, repo: str, host: str = "github.com") -> Path:
        return self.repos / host / f"{repo}.git"

    def publish(
        self,
        repo: str,
        tree: TreeSpec,
        *,
        host: str = "github.com",
        branch: str = "main",
        tag: str | None = None,
        keep: bool = False,
    ) -> str:
        """Commit ``tree`` (replacing what was there unless ``keep``) and push it; the commit."""
        work = self.work / host / repo
        bare = self.bare(repo, host)
        if not bare.exists():
            bare.mkdir(parents=True)
            git("init", "--quiet", "--bare", str(bare))
        if not work.exists():
            work.mkdir(parents=True)
            git("init", "--quiet", str(work))
        elif not keep:
            for child in work.iterdir():
                if child.name != ".git":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        write_tree(work, tree)
        git("-C", str(work), "add", "-A")
        git("-C", str(work), "commit", "--quiet", "--allow-empty", "-m", f"publish {repo}")
        commit = git("-C", str(work), "rev-parse", "HEAD").strip()
        git("-C", str(work), "push", "--quiet", "--force", str(bare), f"HEAD:refs/heads/{branch}")
        if tag:
            git("-C", str(work), "tag", "-f", tag)
            git("-C", str(work), "push", "--quiet", "--force", str(bare), f"refs/tags/{tag}")
        return commit


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class ArchiveServer:
    """An HTTPS server on 127.0.0.1 (name ``localhost``) serving files and redirects."""

    def __init__(self, ca: trustme.CA) -> None:
        handler = type("Handler", (_Handler,), {"routes": {}, "seen": []})
        self.handler = handler
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"

    def serve(self, path: str, body: bytes) -> str:
        self.handler.routes[path] = (200, {"Content-Type": "application/octet-stream"}, body)
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        self.handler.routes[path] = (302, {"Location": location}, b"")
        return self.url(path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on loopback that accepts connections and never answers; its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()
