#!/usr/bin/env python3
"""A loopback UDP peer for benches/scale.sh: bound to 0.0.0.0:PORT, so it receives what is
sent to any 127.x.y.z address on that port. `echo` answers each datagram from the address it
was sent to (IP_PKTINFO), as a beacon would; `silent` reads and drops everything."""
import socket
import sys

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's number, when Python lacks the name
mode, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
sock.bind(("0.0.0.0", port))
print("ready", flush=True)
while True:
    data, ancdata, _flags, addr = sock.recvmsg(2048, socket.CMSG_SPACE(12))
    if mode != "echo":
        continue
    for level, kind, value in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            # struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }: reply from
            # the address the datagram was sent to.
            pktinfo = bytes(4) + value[8:12] + bytes(4)
            sock.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)], 0, addr)
            break
