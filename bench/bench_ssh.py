"""Detection over SSH through a 50 ms-each-way proxy: its cost, and Ansible's fact gathering.

A real sshd on loopback (the test fixture's), with a small asyncio proxy in front of it that
holds every chunk 50 ms in each direction (the kernel here has no netem). Figures are printed
beside their goals, never asserted. Ansible (`pip install .[bench]`) is run if it is installed.
"""

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.timing import report
from tests.ssh.sshd_server import SshServer
from wizard.probe.remote_snapshot import probe_ssh
from wizard.ssh.connection import ConnectOptions, connect
from wizard.ssh.known_hosts import known_hosts_name
from wizard.ssh.target import resolve_target

DELAY = 0.050
RUNS = 5
_EOF = b""


class DelayProxy:
    """A TCP proxy on 127.0.0.1 that delivers each chunk DELAY seconds after it arrives."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    def __enter__(self) -> "DelayProxy":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        except asyncio.CancelledError:  # the proxy is stopping: drop the connection quietly
            writer.close()
            up_writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction, each chunk (and the EOF, or a reset) held back DELAY seconds."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.ensure_future(self._deliver(queue, writer))
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((time.monotonic() + DELAY, data))
                if data == _EOF:
                    break
        except OSError:
            queue.put_nowait((time.monotonic() + DELAY, _EOF))
        await sender

    @staticmethod
    async def _deliver(
        queue: "asyncio.Queue[tuple[float, bytes]]", writer: asyncio.StreamWriter
    ) -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            try:
                if data == _EOF:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
            except OSError:
                writer.close()
                return


class ProxyProcess:
    """The delay proxy in a process of its own, so it takes no CPU time from the client's."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> "ProxyProcess":
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_ssh", "--proxy", str(self.upstream_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.port = int(self._process.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.communicate(timeout=30)


def _serve_proxy(upstream_port: int) -> None:
    """Run a delay proxy until standard input closes, after printing its port."""
    with DelayProxy(upstream_port) as proxy:
        print(proxy.port, flush=True)
        sys.stdin.read()


def _median(action: Callable[[], float], runs: int) -> float:
    action()
    return statistics.median(action() for _ in range(runs))


def _in_process(server: SshServer, port: int, ssh_dir: Path) -> tuple[float, float]:
    """Return the median (connect and login, detection) seconds through one port."""
    target = resolve_target(
        f"root@127.0.0.1:{port}", identity=server.client_keys["ed25519"], ssh_dir=ssh_dir
    )
    options = ConnectOptions(use_agent=False)
    connects: list[float] = []
    detects: list[float] = []
    for _ in range(RUNS + 1):
        start = time.perf_counter()
        with connect(target, options) as connection:
            connected = time.perf_counter()
            probe_ssh(connection)
            detects.append(time.perf_counter() - connected)
        connects.append(connected - start)
    return statistics.median(connects[1:]), statistics.median(detects[1:])


def _process_seconds(argv: list[str], env: dict[str, str]) -> float:
    def once() -> float:
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env, timeout=120)
        return time.perf_counter() - start

    return _median(once, RUNS)


def _ansible_seconds(server: SshServer, port: int, ssh_dir: Path, work: Path) -> float | None:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    ansible = shutil.which("ansible", path=search)
    if ansible is None:
        print("ansible is not installed (pip install '.[bench]'): no comparison")
        return None
    inventory = work / "inventory.ini"
    inventory.write_text(
        f"box ansible_host=127.0.0.1 ansible_port={port} ansible_user=root "
        f"ansible_ssh_private_key_file={server.client_keys['ed25519']} "
        "ansible_python_interpreter=/usr/bin/python3 "
        f"ansible_ssh_common_args='-o UserKnownHostsFile={ssh_dir / 'known_hosts'} "
        "-o StrictHostKeyChecking=yes'\n",
        encoding="utf-8",
    )

    def once() -> float:
        control = Path(tempfile.mkdtemp(dir=work))  # a fresh connection each run
        env = {
            **os.environ,
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
            "ANSIBLE_LOCAL_TEMP": str(control),
            "ANSIBLE_NOCOLOR": "1",
        }
        start = time.perf_counter()
        subprocess.run(
            [ansible, "all", "-i", str(inventory), "-m", "setup"],
            check=True,
            capture_output=True,
            env=env,
            timeout=300,
        )
        seconds = time.perf_counter() - start
        for master in control.iterdir():  # end the persisting connection Ansible leaves
            if master.is_socket():
                subprocess.run(
                    ["ssh", "-O", "exit", "-o", f"ControlPath={master}", "box"],
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
        return seconds

    return _median(once, RUNS)


def main() -> None:
    """Print the SSH detection figures beside their goals."""
    if os.geteuid() != 0 or not all(shutil.which(name) for name in ("sshd", "unshare")):
        print("bench_ssh: needs root, sshd and unshare; skipped")
        return
    work = Path(tempfile.mkdtemp(prefix="mw-bench-ssh-"))
    work.chmod(0o755)
    (work / "server").mkdir(mode=0o755)
    server = SshServer(work / "server")
    server.start()
    try:
        with ProxyProcess(server.port) as proxy:
            ssh_dir = work / "home" / ".ssh"
            ssh_dir.mkdir(parents=True)
            key_type, encoded = server.host_public
            (ssh_dir / "known_hosts").write_text(
                "".join(
                    f"{known_hosts_name('127.0.0.1', port)} {key_type} {encoded}\n"
                    for port in (server.port, proxy.port)
                ),
                encoding="utf-8",
            )
            _, probe_run = _in_process(server, server.port, ssh_dir)
            connect_auth, detect = _in_process(server, proxy.port, ssh_dir)
            budget = 2 * (2 * DELAY) + probe_run + 0.030
            report(f"connect + auth through the proxy, median of {RUNS}", connect_auth, "reference")
            report("probe run (detection without the proxy)", probe_run, "reference")
            report(
                f"detection through the proxy, median of {RUNS}",
                detect,
                f"2 RTT + probe run + 30 ms = {budget * 1000:.0f} ms at most "
                f"({'met' if detect <= budget else 'MISSED'})",
            )
            env = {**os.environ, "HOME": str(ssh_dir.parent), "SSH_AUTH_SOCK": ""}
            argv = [
                sys.executable,
                "-m",
                "wizard",
                "detect",
                "--json",
                "--ssh",
                f"root@127.0.0.1:{proxy.port}",
                "--identity",
                str(server.client_keys["ed25519"]),
            ]
            whole = _process_seconds(argv, env)
            report(f"detect --ssh, whole process, median of {RUNS}", whole, "reference")
            ansible = _ansible_seconds(server, proxy.port, ssh_dir, work)
            if ansible is not None:
                report(f"ansible -m setup, whole process, median of {RUNS}", ansible, "reference")
                print(
                    f"{'ansible / detect --ssh':<52} {ansible / whole:9.1f} x    goal: 4x or more"
                )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--proxy"]:
        _serve_proxy(int(sys.argv[2]))
    else:
        main()
