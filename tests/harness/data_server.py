#!/usr/bin/env python3
"""A local HTTP server for the `bench data fetch` tests: serves the files of ROOT on 127.0.0.1
(a free port, printed on the first line of stdout) with Range requests, and misbehaves on
purpose under path prefixes:

  /cut/FILE        the first request for FILE sends half of the body, then drops the connection
  /status500/FILE  always HTTP 500
  /norange/FILE    ignores Range headers (always the whole file, status 200)
  /_log            the requests so far as JSON: [[path, range header or null], ...]
"""
import http.server
import json
import os
import sys
import threading

ROOT = sys.argv[1]
LOCK = threading.Lock()
REQUESTS = []
CUT_DONE = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.path == "/_log":
            with LOCK:
                body = json.dumps(REQUESTS).encode()
            self.send_bytes(200, body, {})
            return
        with LOCK:
            REQUESTS.append([self.path, self.headers.get("Range")])
        parts = self.path.lstrip("/").split("/")
        mode = parts.pop(0) if parts[0] in ("cut", "status500", "norange") else "plain"
        if mode == "status500":
            self.send_bytes(500, b"internal error\n", {})
            return
        path = os.path.join(ROOT, *parts)
        if not os.path.isfile(path):
            self.send_bytes(404, b"not found\n", {})
            return
        with open(path, "rb") as f:
            data = f.read()
        start = 0
        status = 200
        headers = {"Accept-Ranges": "bytes"}
        wanted = self.headers.get("Range")
        if wanted and mode != "norange":
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_bytes(416, b"", {"Content-Range": "bytes */%d" % len(data)})
                return
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        body = data[start:]
        if mode == "cut":
            with LOCK:
                first = self.path not in CUT_DONE
                CUT_DONE.add(self.path)
            if first:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
        self.send_bytes(status, body, headers)

    def send_bytes(self, status, body, headers):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
