"""The lab's storage host: serves the registry's filesystem storage by path, like an object store behind a CDN.

The registry's `redirect` middleware sends blob GETs to BASEURL + the blob's storage path
(`/docker/registry/v2/blobs/sha256/ab/abcd.../data`); this server answers those paths from the registry's
root directory. Each request is logged as one JSON line with the body bytes actually written, so a test can
prove a probe fetched headers only.

    python3 blobstore.py --root DIR --listen 127.0.0.1:8443 --log FILE [--cert C --key K] [--head-status 403]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from labkit import serve  # the lab directory: these servers run as scripts from it

_LOG_LOCK = threading.Lock()


def make_handler(root: Path, log_path: Path, head_status: int = 0) -> type[BaseHTTPRequestHandler]:
    root = root.resolve()

    class BlobHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "regaudit-lab-blobstore/1"

        def parse_request(self) -> bool:
            # stamped on arrival: the log line is written after the response, and a client that sends its next
            # request on the first's answer can have it logged first by another thread
            self._received = time.monotonic_ns()
            return super().parse_request()

        def _resolve(self) -> Path | None:
            path = unquote(urlsplit(self.path).path)
            target = (root / path.lstrip("/")).resolve()
            if root not in target.parents or not target.is_file():
                return None
            return target

        def _serve(self, with_body: bool) -> None:
            target = self._resolve()
            sent = 0
            if target is None:
                body = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)
                status = 404
            else:
                size = target.stat().st_size
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                status = 200
                if with_body:
                    try:
                        with open(target, "rb") as stream:
                            for block in iter(lambda: stream.read(16384), b""):
                                self.wfile.write(block)
                                sent += len(block)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True
            self._log(status, sent)

        def _log(self, status: int, sent: int) -> None:
            record = {"time": round(time.time(), 3), "method": self.command, "host": self.headers.get("Host", ""),
                      "path": urlsplit(self.path).path, "status": status, "body_bytes": sent,
                      "client": self.client_address[0], "authorization": "Authorization" in self.headers,
                      "received_ns": self._received}
            with _LOG_LOCK, open(log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record, sort_keys=True) + "\n")

        def do_GET(self) -> None:
            self._serve(with_body=True)

        def do_HEAD(self) -> None:
            if head_status:
                # Like a storage URL signed for GET only (S3 pre-signed URLs answer HEAD with 403).
                self.send_response(head_status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self._log(head_status, 0)
                return
            self._serve(with_body=False)

        def log_message(self, format: str, *args: object) -> None:
            return

    return BlobHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument("--head-status", type=int, default=0, help="answer every HEAD with this status")
    args = parser.parse_args()
    serve(args.listen, make_handler(args.root, args.log, args.head_status), args.cert, args.key)


if __name__ == "__main__":
    main()
