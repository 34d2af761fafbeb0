#!/usr/bin/env python3
"""A misbehaving Redis server for the fault tests: fake_redis.py SOCKET MODE.

It listens on the unix socket SOCKET, reads RESP commands, and answers
each connection as MODE says:
  endless           every command gets a bulk string that never ends
  drip              every command gets a simple string, one byte every
                    20 ms, that never ends
  acq_then_endless  the first EVALSHA of all (an acquire) gets {1, 42};
                    every later command an endless stream
  scan_forever      SCAN answers cursor 1 and no keys, for ever
  scan_counting     SCAN answers cursors 1, 2, 3, ... and no keys
  scan_long_cursor  SCAN answers a 40-digit cursor
  reply:RESP        every command gets the raw RESP text (\\r\\n escapes)
  slots:RESP        CLUSTER gets the raw RESP text, any other command an
                    error
In every mode but slots: and the endless ones, CLUSTER gets the error of
a standalone server, so that list goes on to the SCAN under test.
It stops by itself after 120 s, so a test that forgets it leaks nothing.
"""
import os
import socket
import sys
import threading
import time

LIFETIME_S = 120
acquired = threading.Event()


def read_command(f):
    """One RESP array of bulk strings, or None at end of stream."""
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return [line.strip()]
    args = []
    for _ in range(int(line[1:])):
        size = int(f.readline()[1:])
        args.append(f.read(size + 2)[:-2])
    return args


def endless(conn, chunk):
    while True:
        conn.sendall(chunk)


def serve(conn, mode):
    f = conn.makefile("rb")
    try:
        while True:
            cmd = read_command(f)
            if cmd is None:
                return
            verb = cmd[0].upper() if cmd else b""
            if mode == "endless":
                conn.sendall(b"$999999999999\r\n")
                endless(conn, b"x" * 65536)
            elif mode == "drip":
                conn.sendall(b"+")
                while True:
                    conn.sendall(b"x")
                    time.sleep(0.02)
            elif mode == "acq_then_endless":
                if verb == b"EVALSHA" and not acquired.is_set():
                    acquired.set()
                    conn.sendall(b"*2\r\n:1\r\n:42\r\n")
                else:
                    conn.sendall(b"*999999999\r\n")
                    endless(conn, b":1\r\n" * 16384)
            elif mode == "scan_forever" and verb == b"SCAN":
                conn.sendall(b"*2\r\n$1\r\n1\r\n*0\r\n")
            elif mode == "scan_counting" and verb == b"SCAN":
                cursor = str(int(cmd[1]) + 1).encode()
                conn.sendall(b"*2\r\n$%d\r\n%s\r\n*0\r\n" % (len(cursor), cursor))
            elif mode == "scan_long_cursor" and verb == b"SCAN":
                conn.sendall(b"*2\r\n$40\r\n" + b"9" * 40 + b"\r\n*0\r\n")
            elif mode.startswith("slots:") and verb == b"CLUSTER":
                raw = mode[len("slots:"):].replace("\\r\\n", "\r\n")
                conn.sendall(raw.encode())
            elif verb == b"CLUSTER":
                conn.sendall(b"-ERR This instance has cluster support disabled\r\n")
            elif mode.startswith("reply:"):
                raw = mode[len("reply:"):].replace("\\r\\n", "\r\n")
                conn.sendall(raw.encode())
            else:
                conn.sendall(b"-ERR fake_redis: unexpected command\r\n")
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        conn.close()


def main():
    path, mode = sys.argv[1], sys.argv[2]
    # The socket appears under its name only once it listens: a client
    # that sees the file between bind() and listen() would be refused.
    tmp = path + ".new"
    if os.path.exists(tmp):
        os.unlink(tmp)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(16)
    os.rename(tmp, path)
    threading.Timer(LIFETIME_S, lambda: os._exit(0)).start()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
