"""The lab's token issuer for the registry's `auth: token` mode (docker/distribution's token spec).

Anyone gets a token for what they ask (`scope=repository:NAME:ACTIONS`): the lab tests the flow, not policy.
Tokens are RS256 JWTs signed with openssl; the header's `x5c` carries the signing certificate, which is the
registry's `rootcertbundle`, so the registry verifies the chain and the signature.

    python3 tokenserver.py --listen 127.0.0.1:5001 --sign-cert C --sign-key K --issuer I --service S --log F
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from labkit import serve  # the lab directory: these servers run as scripts from it

_LOG_LOCK = threading.Lock()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _der_of(cert: Path) -> str:
    der = subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return base64.b64encode(der).decode()


def make_token(key: Path, x5c: str, issuer: str, service: str, scopes: list[str]) -> str:
    access = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind and name:
            access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
    claims = {"iss": issuer, "sub": "", "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": uuid.uuid4().hex, "access": access}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=signing_input.encode(),
                               check=True, capture_output=True).stdout
    return f"{signing_input}.{_b64(signature)}"


def make_handler(args: argparse.Namespace, x5c: str) -> type[BaseHTTPRequestHandler]:
    class TokenHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path != "/token":
                status, body = 404, b'{"errors":[{"code":"NOT_FOUND"}]}'
            else:
                token = make_token(args.sign_key, x5c, args.issuer, args.service, query.get("scope", []))
                status = 200
                body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            record = {"time": round(time.time(), 3), "path": parts.path, "status": status,
                      "service": query.get("service", [""])[0], "scope": query.get("scope", []),
                      "host": self.headers.get("Host", "")}
            with _LOG_LOCK, open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(record, sort_keys=True) + "\n")

        def log_message(self, format: str, *args: object) -> None:
            return

    return TokenHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--sign-cert", type=Path, required=True)
    parser.add_argument("--sign-key", type=Path, required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    args = parser.parse_args()
    serve(args.listen, make_handler(args, _der_of(args.sign_cert)), args.cert, args.key)


if __name__ == "__main__":
    main()
