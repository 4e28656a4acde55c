"""Listening TCP sockets from sock_diag agree with the kernel's /proc/net/tcp tables."""

import socket
from pathlib import Path

import pytest

from wizard.probe.parsers import parse_listening_ports
from wizard.probe.sockdiag import listening_tcp_table


def _table_line(table: str, port: int) -> list[str]:
    for line in table.splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            return fields
    raise AssertionError(f"port {port} is not listed as listening")


def test_a_listening_socket_is_listed_like_proc_net_tcp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        table = listening_tcp_table(socket.AF_INET)
        proc = Path("/proc/net/tcp").read_text(encoding="utf-8")
    ours, kernels = _table_line(table, port), _table_line(proc, port)
    assert ours[1] == kernels[1] == f"0100007F:{port:04X}"
    assert ours[7] == kernels[7]  # uid
    assert port in parse_listening_ports(table, "tcp")


def test_connections_are_left_out_and_listeners_match_the_kernel() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            client_port = client.getsockname()[1]
            table = listening_tcp_table(socket.AF_INET)
            proc = Path("/proc/net/tcp").read_text(encoding="utf-8")
    assert client_port not in parse_listening_ports(table, "tcp")
    assert parse_listening_ports(table, "tcp") == parse_listening_ports(proc, "tcp")


def test_ipv6_listeners_are_listed() -> None:
    if not socket.has_ipv6 or not Path("/proc/net/tcp6").exists():
        pytest.skip("no IPv6 here")
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as server:
        try:
            server.bind(("::1", 0))
        except OSError:
            pytest.skip("::1 cannot be bound here")
        server.listen()
        port = server.getsockname()[1]
        table = listening_tcp_table(socket.AF_INET6)
        proc = Path("/proc/net/tcp6").read_text(encoding="utf-8")
    assert _table_line(table, port)[1] == _table_line(proc, port)[1]
