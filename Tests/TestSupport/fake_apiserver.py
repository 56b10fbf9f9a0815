#!/usr/bin/env python3
"""A fake Kubernetes API server for tests: HTTPS on loopback, scriptable, recording.

Serves PATCH/GET /api/v1/nodes/NAME over TLS (certificate files made by the test) and keeps
node annotations in memory, applying JSON merge patches. A plain-HTTP control port on
127.0.0.1 lets the test script it:

  GET  /requests            every request so far: time, method, path, headers, body, status
  GET  /nodes               {node: annotations}
  POST /reset               forget requests, script and nodes
  POST /auth                {"tokens": [...], "unauthorized_body": "..."}: accepted bearer
                            tokens (empty: no check); a verified client certificate also passes
  POST /script              {"responses": [{"status": 403, "body": "...", "headers": {...},
                            "match": "/nodes/x", "delay": 0.0, "times": 1}, ...]}: answers
                            for the next matching requests, in order
  POST /down                {"seconds": 10}: stop listening, listen again after that long

Prints {"port": P, "control_port": C} on one line once both ports listen.
Standard library only. Loopback only.
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"requests": [], "script": [], "nodes": {}, "tokens": [], "unauthorized_body": None}


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def status_body(code, reason, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code})


class APIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: a stopped server is really gone

    def log_message(self, fmt, *args):
        pass

    def _client_cn(self):
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            return None
        if not cert:
            return None
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return None

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        auth = self.headers.get("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        client_cn = self._client_cn()
        headers = {}
        for key, value in self.headers.items():
            # A repeated header (Impersonate-Group) reads as its values joined, as HTTP allows.
            key = key.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        record = {"time": time.time(), "method": self.command, "path": self.path,
                  "headers": headers, "body": body,
                  "token": token, "client_cn": client_cn}
        status, payload, headers, delay = self._respond(record, body, token, client_cn)
        record["status"] = status
        with LOCK:
            STATE["requests"].append(record)
        if delay:
            time.sleep(delay)
        data = payload.encode()
        self.send_response(status)
        content_type = "application/json"
        for key, value in headers.items():
            if key.lower() == "content-type":
                content_type = value
        self.send_header("Content-Type", content_type)
        for key, value in headers.items():
            if key.lower() != "content-type":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _respond(self, record, body, token, client_cn):
        with LOCK:
            tokens = list(STATE["tokens"])
            if tokens and token not in tokens and client_cn is None:
                return 401, STATE["unauthorized_body"] or "Unauthorized", {}, 0
            for index, entry in enumerate(STATE["script"]):
                if entry.get("match") and entry["match"] not in self.path:
                    continue
                entry["times"] = entry.get("times", 1) - 1
                if entry["times"] <= 0:
                    del STATE["script"][index]
                return (entry["status"], entry.get("body", ""), entry.get("headers", {}),
                        entry.get("delay", 0))
            prefix = "/api/v1/nodes/"
            if not self.path.startswith(prefix):
                return 404, status_body(404, "NotFound", "the server could not find the requested resource"), {}, 0
            name = self.path[len(prefix):]
            node = STATE["nodes"].setdefault(name, {"kind": "Node", "apiVersion": "v1",
                                                    "metadata": {"name": name, "annotations": {}}})
            if self.command == "GET":
                return 200, json.dumps(node), {}, 0
            if self.command == "PATCH":
                if self.headers.get("Content-Type") != "application/merge-patch+json":
                    return 415, status_body(415, "UnsupportedMediaType", "unsupported patch type"), {}, 0
                try:
                    patch = json.loads(body)
                except ValueError:
                    return 400, status_body(400, "BadRequest", "invalid JSON"), {}, 0
                STATE["nodes"][name] = merge_patch(node, patch)
                return 200, json.dumps(STATE["nodes"][name]), {}, 0
            return 405, status_body(405, "MethodNotAllowed", "method not allowed"), {}, 0

    do_GET = _handle
    do_PATCH = _handle
    do_POST = _handle
    do_PUT = _handle
    do_DELETE = _handle


class APIServer:
    def __init__(self, port, context):
        self.port = port
        self.context = context
        self.server = None
        self.start()

    def start(self):
        server = ThreadingHTTPServer(("127.0.0.1", self.port), APIHandler)
        server.daemon_threads = True
        server.socket = self.context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self, seconds):
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()

        def later():
            time.sleep(seconds)
            self.start()

        threading.Thread(target=later, daemon=True).start()


def make_control_handler(api):
    class ControlHandler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def _reply(self, value):
            data = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            with LOCK:
                if self.path == "/requests":
                    value = list(STATE["requests"])
                elif self.path == "/nodes":
                    value = {name: node["metadata"].get("annotations", {}) for name, node in STATE["nodes"].items()}
                else:
                    value = {"error": "unknown"}
            self._reply(value)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            command = json.loads(self.rfile.read(length) or b"{}")
            with LOCK:
                if self.path == "/reset":
                    STATE.update({"requests": [], "script": [], "nodes": {}, "tokens": [],
                                  "unauthorized_body": None})
                elif self.path == "/auth":
                    STATE["tokens"] = command.get("tokens", [])
                    STATE["unauthorized_body"] = command.get("unauthorized_body")
                elif self.path == "/script":
                    STATE["script"].extend(command.get("responses", []))
            if self.path == "/down":
                api.down(float(command.get("seconds", 10)))
            self._reply({"ok": True})

    return ControlHandler


def main():
    # A test runner may start us with SIGTERM blocked (the mask is inherited): accept it again.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-ca", help="verify client certificates signed by this CA (optional for clients)")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(arguments.cert, arguments.key)
    if arguments.client_ca:
        context.load_verify_locations(arguments.client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    api = APIServer(arguments.port, context)
    control = ThreadingHTTPServer(("127.0.0.1", 0), make_control_handler(api))
    control.daemon_threads = True
    print(json.dumps({"port": api.port, "control_port": control.server_address[1]}), flush=True)

    def exit_with_parent():
        # The test holds our stdin open; when it exits (even by a crash), so do we.
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
