#!/usr/bin/env python3
"""A forward proxy for tests, on loopback: HTTP CONNECT (plain or over TLS) and SOCKS5.

  --mode http    CONNECT host:port, plain
  --mode https   CONNECT host:port, the client's connection to the proxy over TLS
                 (--cert/--key)
  --mode socks5  SOCKS5 without authentication, CONNECT by address or by name

Prints {"port": P} once it listens, then one JSON line per tunnel it opens:
{"target": "host:port", "mode": "..."}. Exits when its standard input closes.
Standard library only.
"""
import argparse
import json
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading

LOCK = threading.Lock()


def say(value):
    with LOCK:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()


def pipe(a, b):
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 60)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass


def read_until(conn, marker):
    data = b""
    while marker not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > 65536:
            return None
    return data


def recv_exact(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def handle_connect(conn, mode):
    head = read_until(conn, b"\r\n\r\n")
    if head is None:
        conn.close()
        return
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) < 2 or parts[0] != "CONNECT":
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    target = parts[1]
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    try:
        upstream = socket.create_connection((host, int(port)), timeout=10)
    except OSError:
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    say({"target": target, "mode": mode})
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    pipe(conn, upstream)


def handle_socks(conn):
    try:
        version, count = recv_exact(conn, 2)
        recv_exact(conn, count)
        if version != 5:
            conn.close()
            return
        conn.sendall(b"\x05\x00")
        _, command, _, kind = recv_exact(conn, 4)
        if kind == 1:
            host = socket.inet_ntoa(recv_exact(conn, 4))
        elif kind == 3:
            length = recv_exact(conn, 1)[0]
            host = recv_exact(conn, length).decode()
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, recv_exact(conn, 16))
        else:
            conn.close()
            return
        port = struct.unpack("!H", recv_exact(conn, 2))[0]
        if command != 1:
            conn.sendall(b"\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00")
            conn.close()
            return
        upstream = socket.create_connection((host, port), timeout=10)
    except OSError:
        try:
            conn.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        conn.close()
        return
    say({"target": "%s:%d" % (host, port), "mode": "socks5", "byName": kind == 3})
    conn.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
    pipe(conn, upstream)


def main():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["http", "https", "socks5"], required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    arguments = parser.parse_args()
    context = None
    if arguments.mode == "https":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(arguments.cert, arguments.key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    say({"port": listener.getsockname()[1]})

    def exit_with_parent():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    while True:
        conn, _ = listener.accept()

        def serve(conn=conn):
            try:
                if arguments.mode == "socks5":
                    handle_socks(conn)
                    return
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True)
                handle_connect(conn, arguments.mode)
            except (OSError, ssl.SSLError):
                try:
                    conn.close()
                except OSError:
                    pass

        threading.Thread(target=serve, daemon=True).start()


if __name__ == "__main__":
    main()
