"""A loopback server that imitates OpenRouter's chat endpoint and records,
for every request, which credential header arrived — as a fingerprint, never
the key itself. Used by the conformance suite to see what a real client sends.

Each request appends one JSON line to the log file:
  {"method","path","authorization": null | {"scheme","sha8","len","text"?},
   "x_api_key": null | {...}, "headers": [names], "user_agent"}
`text` is kept only for values that are substitution placeholders (not secrets).
"""
import hashlib
import json
import re
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PLACEHOLDER = re.compile(r"\$\{|\{env:|os\.environ/|\{\{")
COMPLETION = {
    "id": "gen-keyhole", "object": "chat.completion", "created": 1700000000, "model": "anthropic/claude-sonnet-4.5",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}

MESSAGE = {
    "id": "msg_keyhole", "type": "message", "role": "assistant", "model": "anthropic/claude-sonnet-4.5",
    "content": [{"type": "text", "text": "4"}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 1},
}


def fingerprint(value, scheme):
    raw = value.encode("latin-1", "replace")
    fp = {"scheme": scheme, "sha8": hashlib.sha256(raw).hexdigest()[:8], "len": len(raw)}
    if PLACEHOLDER.search(value) or len(value) < 20:
        fp["text"] = value  # a placeholder or an empty/short marker, not a secret
    return fp


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without TCP_NODELAY a kept-alive
    # client waits for the delayed ACK (40 ms) on every request.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _record(self):
        auth = self.headers.get("Authorization")
        rec = {"method": self.command, "path": self.path.split("?")[0], "authorization": None, "x_api_key": None,
               "headers": sorted(k.lower() for k in self.headers.keys()), "user_agent": self.headers.get("User-Agent")}
        if auth is not None:
            if auth[:7].lower() == "bearer ":
                rec["authorization"] = fingerprint(auth[7:], "bearer")
            elif auth.lower() == "bearer":
                rec["authorization"] = fingerprint("", "bearer")
            else:
                rec["authorization"] = fingerprint(auth, "raw")
        if self.headers.get("x-api-key") is not None:
            rec["x_api_key"] = fingerprint(self.headers.get("x-api-key"), "raw")
        with self.server.lock, open(self.server.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return rec

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        rec = self._record()
        if rec["path"].endswith("/key"):
            a = rec["authorization"]
            if a is None:
                return self._reply(401, {"error": {"message": "No cookie auth credentials found", "code": 401}})
            if a["len"] == 73 and "text" not in a:
                return self._reply(200, {"data": {"label": "sk-or-v1-...", "usage": 0, "limit": None}})
            return self._reply(401, {"error": {"message": "User not found.", "code": 401}})
        if rec["path"].endswith("/models"):
            return self._reply(200, {"data": [{"id": "anthropic/claude-sonnet-4.5"}]})
        self._reply(404, {"error": {"message": "Not Found", "code": 404}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        rec = self._record()
        a = rec["authorization"]
        if a is None and rec["x_api_key"] is None:
            return self._reply(401, {"error": {"message": "No cookie auth credentials found", "code": 401}})
        # OpenRouter takes its key in either header; the Anthropic route answers in Anthropic's shape.
        if any(c is not None and c["len"] == 73 and "text" not in c for c in (a, rec["x_api_key"])):
            return self._reply(200, MESSAGE if rec["path"].endswith("/messages") else COMPLETION)
        self._reply(401, {"error": {"message": "Missing Authentication header", "code": 401}})


class Server(ThreadingHTTPServer):
    # The default backlog of 5 drops concurrent connects (SYN retried after 1 s).
    request_queue_size = 256
    daemon_threads = True


class TlsFront:
    """A TLS front for a plain-http capture on loopback (this one, or keyhole-capture): it presents a
    leaf (PEM `cert`, `key`) and pipes each connection to 127.0.0.1:`backend`. A client that refuses
    the certificate is counted in `refused` (the alert it sent, e.g. "TLSV1_ALERT_UNKNOWN_CA", or how
    the connection ended) and reaches nothing; `accepted` counts the handshakes that succeeded."""

    def __init__(self, backend, cert, key):
        self.backend, self.refused, self.accepted = backend, [], 0
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, raw):
        raw.settimeout(10)
        try:
            c = self.tls.wrap_socket(raw, server_side=True)
            c.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.refused.append(getattr(e, "reason", None) or type(e).__name__)
            raw.close()
            return
        with self.lock:
            self.accepted += 1
        try:
            b = socket.create_connection(("127.0.0.1", self.backend))
        except OSError:
            c.close()
            return

        def pump(src, dst):
            try:
                while (data := src.recv(65536)):
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pump, args=(b, c), daemon=True).start()
        pump(c, b)

    def snapshot(self):
        with self.lock:
            return self.accepted, list(self.refused)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        except OSError:
            pass
        self.sock.close()


def start(log_path, port=0):
    srv = Server(("127.0.0.1", port), Handler)
    srv.log = log_path
    srv.lock = threading.Lock()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


if __name__ == "__main__":
    s = start(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(s.server_address[1], flush=True)
    threading.Event().wait()
