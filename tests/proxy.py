#!/usr/bin/env python3
"""A TCP proxy for fault tests: listens on a free loopback port, prints it,
and copies bytes both ways to a Redis unix socket or host:port.

Stop it with SIGSTOP to freeze the network path while both ends stay up
(connections stall, new ones queue in the backlog); SIGCONT lets traffic
flow again. Ends when killed, or after --lifetime seconds.
"""
import argparse
import selectors
import socket
import sys
import time


def connect(target):
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target)
    else:
        host, port = target.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target", help="unix socket path or host:port")
    ap.add_argument("--lifetime", type=float, default=300)
    args = ap.parse_args()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    print(lsock.getsockname()[1], flush=True)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    peer = {}
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            if s is lsock:
                client, _ = lsock.accept()
                try:
                    server = connect(args.target)
                except OSError:
                    client.close()
                    continue
                peer[client], peer[server] = server, client
                sel.register(client, selectors.EVENT_READ)
                sel.register(server, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            other = peer.get(s)
            if data and other:
                try:
                    other.sendall(data)
                    continue
                except OSError:
                    pass
            for x in (s, other):
                if x is not None and x in peer:
                    sel.unregister(x)
                    peer.pop(x, None)
                    x.close()


if __name__ == "__main__":
    sys.exit(main())
