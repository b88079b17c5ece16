"""The commands on a real terminal (a pseudo-terminal), where a progress bar is drawn on
stderr, and behind a pipe that closes early (``| head``): same documents, no tracebacks."""

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.plugins import full_plugin

pytestmark = pytest.mark.django_db(transaction=True)


def run_on_terminal(args, env, *, stdout=None, timeout=60):
    """Run ``manage.py args`` with stderr (and stdout unless given) on a pseudo-terminal;
    returns (exit status, what the terminal showed)."""
    leader, follower = pty.openpty()
    # A terminal of 80 x 24, like a real one (a new pseudo-terminal reports 0 x 0).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "manage.py", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdin=follower,
        stdout=stdout if stdout is not None else follower,
        stderr=follower,
    )
    os.close(follower)
    shown = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            process.kill()
            raise AssertionError(f"no output for {timeout} s: {bytes(shown)!r}")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: every process holding it has ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return process.wait(timeout), shown.decode("utf-8", "replace")


def test_import_on_a_terminal_draws_progress_and_keeps_the_document(make_tree, cli_env, tmp_path):
    root = make_tree(full_plugin())
    env = {**cli_env, "LOG_FORMAT": "text"}
    document_path = tmp_path / "out.json"
    with document_path.open("wb") as out:
        status, shown = run_on_terminal(["import_plugin", root, "--json"], env, stdout=out)
    assert status == 0, shown
    assert "Traceback" not in shown
    assert "importing" in shown  # the progress bar, on the terminal (stderr)
    document = json.loads(document_path.read_text())
    assert document["results"][0]["plugin_name"] == "toolbox"


def test_a_failing_import_on_a_terminal_shows_its_error_once(make_tree, cli_env, tmp_path):
    status, shown = run_on_terminal(
        ["import_plugin", make_tree(full_plugin()), tmp_path / "absent"], cli_env
    )
    assert status == 1
    assert "Traceback" not in shown
    assert shown.count("no such file or directory") == 1
    assert "1 imported, 0 unchanged, 0 skipped, 1 failed" in shown


def test_a_pipe_closed_early_ends_the_command_quietly(make_tree, cli_env):
    # Enough children that the document outgrows the pipe's buffer.
    commands = {f"commands/c{i:04}.md": f"command {i}" for i in range(600)}
    root = make_tree({".claude-plugin/plugin.json": '{"name": "many"}', **commands})
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_plugin", str(root), "--json"],
        cwd=ROOT,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline().strip() == b"{"
    process.stdout.close()  # what `| head -1` does
    errors = process.stderr.read().decode()
    process.wait(60)
    assert "BrokenPipeError" not in errors and "Traceback" not in errors


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_run_on_a_terminal_serves_the_admin(tmp_path):
    """The quick start's first command, on a pseudo-terminal as in a shell: it migrates,
    imports the example (progress bar and all) and serves the admin."""
    port = free_port()
    env = {
        **os.environ,
        "SKILLMEAT_HOME": str(tmp_path / "home"),
        "DJANGO_SETTINGS_MODULE": "skillmeat_site.settings",
    }
    env.pop("DATABASE_URL", None)  # the quick start's own default: SQLite in the home
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        ["make", "run", f"HOST=127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    shown = bytearray()
    try:
        status = None
        for _ in range(360):
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                with contextlib.suppress(OSError):
                    shown += os.read(leader, 65536)
            if process.poll() is not None:
                break
            status = http_status(f"http://127.0.0.1:{port}/admin/login/")
            if status is not None:
                break
        assert status == 200, shown.decode("utf-8", "replace")[-2000:]
        assert b"Traceback" not in shown
        assert b"hello-tools" in shown
    finally:
        stop_group(process)
        os.close(leader)


def stop_group(process):
    """SIGTERM to the whole group (make, manage.py, runserver's reloader); SIGKILL if it
    lingers, so a cleanup never hides what the test found."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(30)
            return
        except subprocess.TimeoutExpired:
            continue


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as page:
            return page.status
    except OSError:
        return None
