"""List listening TCP sockets through netlink sock_diag, which skips established connections.

Reading /proc/net/tcp walks the kernel's whole connection hash table, which takes milliseconds
on a machine with much RAM even when it has few sockets; asking sock_diag for LISTEN sockets
only walks the listening table. The result is rendered as /proc/net/tcp text so the same
parser reads it.
"""

import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
TCP_LISTEN = 10
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBBI48x")  # inet_diag_req_v2 with an empty inet_diag_sockid
_MESSAGE = struct.Struct("=BBBB2s2s16s16sI8sIIIII")  # inet_diag_msg
_TABLE_HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
    "   uid  timeout inode"
)


def _hex_address(family: int, raw: bytes) -> str:
    words = struct.unpack("=4I", raw)
    return "".join(f"{word:08X}" for word in (words[:1] if family == socket.AF_INET else words))


def _messages(sock: socket.socket) -> list[bytes]:
    messages: list[bytes] = []
    while True:
        data = sock.recv(65536)
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
            if kind == NLMSG_DONE:
                return messages
            if kind == NLMSG_ERROR or length < _HEADER.size:
                raise OSError("sock_diag refused the request")
            messages.append(data[offset + _HEADER.size : offset + length])
            offset += (length + 3) & ~3
        if not data:
            raise OSError("sock_diag closed before the end of the dump")


def listening_tcp_table(family: int) -> str:
    """Return the listening TCP sockets of AF_INET or AF_INET6 as /proc/net/tcp{,6} text."""
    request = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN)
    header = _HEADER.pack(
        _HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0
    )
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(1.0)
        sock.send(header + request)
        messages = _messages(sock)
    lines = [_TABLE_HEADER]
    for number, message in enumerate(messages):
        fields = _MESSAGE.unpack_from(message)
        state, port, source, uid, inode = fields[1], fields[4], fields[6], fields[13], fields[14]
        address = _hex_address(family, source)
        empty = "0" * len(address)
        lines.append(
            f"{number:4d}: {address}:{int.from_bytes(port, 'big'):04X} {empty}:0000 "
            f"{state:02X} 00000000:00000000 00:00000000 00000000 {uid:5d} 0 {inode}"
        )
    return "\n".join(lines) + "\n"
