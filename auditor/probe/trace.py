"""The live probe: walk a registry's real pull flow for one image and record every host it sends us to.

The flow is the distribution API's: `GET /v2/` (200, or 401 with a Bearer challenge), an anonymous token from
the challenge's realm, the manifest (an index resolves to linux/amd64 or its first entry), then ONE blob, the
image config, requested with redirects not followed. Each `Location` is followed hop by hop up to a bound,
reading only status lines and headers: storage hops are asked with HEAD, and only if the storage refuses HEAD
(a URL signed for GET answers 403) with a GET whose connection is closed right after the headers. No blob body
is ever read.

Requests go through urllib, so HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured as every stdlib client does.
TLS is verified by default (`ca_file` adds a private CA). The registry's token is never sent to another host.
Query strings of redirect targets (signed URLs carry credentials) are not recorded, only `?…`.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from auditor import __version__
from auditor.core.model import (
    ImageReference,
)
from auditor.core.reference import DOCKER_HUB_ENDPOINT, InvalidReference, parse_reference
from auditor.core.trace_record import Hop, Role, TraceResult
from auditor.probe.wwwauth import Challenge, parse_www_authenticate

USER_AGENT = f"regaudit/{__version__} (trace)"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_TOKEN_BYTES = 1024 * 1024

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
MANIFEST_ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
# Storage that refuses HEAD this way may still serve GET (a URL signed for GET only).
HEAD_REFUSED = frozenset({403, 405, 501})


@dataclass(frozen=True)
class TraceOptions:
    timeout: float = 10.0
    insecure: bool = False  # skip TLS verification
    plain_http: bool = False  # talk to the registry over http://
    ca_file: Path | None = None
    max_redirects: int = 5


class TraceError(Exception):
    """The probe cannot go on for this image; the message says why, for a person."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # the 3xx surfaces as an HTTPError whose headers we read


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "…" if parts.query else "", ""))


def registry_netloc(ref: ImageReference) -> str:
    """The host[:port] the client contacts: Docker Hub's names go to registry-1.docker.io."""
    if ref.registry in ("docker.io", "index.docker.io"):
        return DOCKER_HUB_ENDPOINT
    return ref.registry


class _Probe:
    def __init__(self, options: TraceOptions, result: TraceResult) -> None:
        self.options = options
        self.result = result
        context = ssl.create_default_context(cafile=str(options.ca_file) if options.ca_file else None)
        if options.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # ProxyHandler() reads HTTP(S)_PROXY / NO_PROXY from the environment at this moment.
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(), urllib.request.HTTPSHandler(context=context), _NoRedirect())
        self.proxies = urllib.request.getproxies()

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        proxy = self.proxies.get(scheme)
        if not proxy or urllib.request.proxy_bypass_environment(host, self.proxies):
            return None
        return _redact(proxy)

    def request(self, url: str, method: str, role: Role, headers: dict[str, str] | None = None,
                body_limit: int = 0) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One exchange; reads at most BODY_LIMIT body bytes (0: none, the connection is closed after headers)."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if scheme == "https" else 80)
        path = parts.path or "/"
        proxy = self._proxy_for(scheme, host)
        started = time.time()

        def hop(status: int | None, location: str | None = None, error: str | None = None) -> None:
            self.result.hops.append(Hop(role=str(role), method=method, scheme=scheme, host=host, port=port,
                                        path=path, status=status, location=location, error=error, time=started,
                                        proxy=proxy))

        if scheme not in ("http", "https"):
            hop(None, error=f"unsupported URL scheme {scheme!r}")
            raise TraceError(f"{role}: unsupported URL scheme in {_redact(url)}")
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            response = self.opener.open(request, timeout=self.options.timeout)
        except urllib.error.HTTPError as exc:
            response = exc  # 3xx/4xx/5xx: status and headers are what we came for
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            message = _describe(exc, host, port, self.options.timeout, proxy)
            hop(None, error=message)
            raise TraceError(message) from None
        try:
            status = response.status if response.status is not None else response.code
            body = b""
            if body_limit:
                body = response.read(body_limit + 1)
                if len(body) > body_limit:
                    raise TraceError(f"{role} response from {host} is over {body_limit} bytes")
            location = response.headers.get("Location")
            resolved = urllib.parse.urljoin(url, location) if location else None
            hop(status, location=_redact(resolved) if resolved else None)
            if resolved:
                response.headers.replace_header("Location", resolved)
            return status, response.headers, body
        except (OSError, http.client.HTTPException) as exc:
            message = _describe(exc, host, port, self.options.timeout, proxy)
            hop(None, error=message)
            raise TraceError(message) from None
        finally:
            response.close()


def _describe(exc: BaseException, host: str, port: int, timeout: float, proxy: str | None) -> str:
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    via = f" (via proxy {proxy})" if proxy else ""
    if isinstance(reason, socket.gaierror):
        return f"DNS lookup failed for {host}{via}: {reason.strerror or reason}"
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused by {host}:{port}{via}"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"timed out after {timeout:g} s talking to {host}:{port}{via}"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed for {host}:{port}: {reason.verify_message or reason}"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error with {host}:{port}: {reason.reason or reason}"
    if isinstance(reason, OSError):
        return f"network error with {host}:{port}{via}: {reason.strerror or reason}"
    return f"HTTP error with {host}:{port}{via}: {reason}"


def trace_image(image: str, options: TraceOptions | None = None) -> TraceResult:
    """Probe IMAGE's pull flow. Never raises for network or protocol trouble: the result carries `error`."""
    options = options or TraceOptions()
    result = TraceResult(image=image)
    try:
        ref = parse_reference(image)
    except InvalidReference as exc:
        result.error = f"invalid reference: {exc.reason}"
        return result
    result.registry = registry_netloc(ref)
    result.repository = ref.repository
    result.reference = ref.digest or ref.tag or "latest"
    probe = _Probe(options, result)
    try:
        _run(probe, ref, options)
    except TraceError as exc:
        result.error = str(exc)
    return result


def _run(probe: _Probe, ref: ImageReference, options: TraceOptions) -> None:
    result = probe.result
    base = f"{'http' if options.plain_http else 'https'}://{result.registry}"
    status, headers, _ = probe.request(f"{base}/v2/", "GET", Role.REGISTRY_API)
    auth: dict[str, str] = {}
    if status == 401:
        auth = _anonymous_token(probe, headers.get_all("WWW-Authenticate") or [], ref.repository)
    elif status != 200:
        raise TraceError(f"GET /v2/ answered {status}: not a registry API endpoint")

    reference = result.reference
    manifest = _fetch_manifest(probe, base, ref.repository, reference, auth)
    if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
        entry = _pick_platform(manifest)
        manifest = _fetch_manifest(probe, base, ref.repository, entry, auth)
    digest = _blob_digest(manifest)
    result.blob = digest

    url = f"{base}/v2/{ref.repository}/blobs/{digest}"
    status, headers, _ = probe.request(url, "GET", Role.BLOB, auth)
    _check_status(status, "blob", digest)
    for _ in range(options.max_redirects):
        if status not in (301, 302, 303, 307, 308):
            return
        location = headers.get("Location")
        if not location:
            raise TraceError(f"{status} redirect without a Location header")
        # The registry's token stays with the registry: storage hops go without Authorization.
        status, headers, _ = probe.request(location, "HEAD", Role.STORAGE)
        if status in HEAD_REFUSED:
            status, headers, _ = probe.request(location, "GET", Role.STORAGE)
        if status >= 400:
            raise TraceError(f"storage host answered {status} for the blob")
    if status in (301, 302, 303, 307, 308):
        raise TraceError(f"more than {options.max_redirects} redirects; stopped")


def _check_status(status: int, what: str, name: str) -> None:
    if status == 401:
        raise TraceError(f"{what} {name}: 401 unauthorized (the registry needs credentials)")
    if status == 404:
        raise TraceError(f"{what} {name}: not found (404)")
    if status >= 400 or status < 200:
        raise TraceError(f"{what} {name}: HTTP {status}")


def _anonymous_token(probe: _Probe, values: list[str], repository: str) -> dict[str, str]:
    challenges: list[Challenge] = []
    for value in values:
        challenges += parse_www_authenticate(value)
    bearer = next((c for c in challenges if c.scheme == "bearer"), None)
    if bearer is None:
        schemes = ", ".join(c.scheme for c in challenges) or "none"
        raise TraceError(f"GET /v2/ answered 401 with no Bearer challenge (schemes: {schemes}); "
                         "anonymous access is not possible")
    realm = bearer.params.get("realm")
    if not realm:
        raise TraceError("Bearer challenge without a realm")
    query = {"scope": f"repository:{repository}:pull"}
    if bearer.params.get("service"):
        query["service"] = bearer.params["service"]
    separator = "&" if urllib.parse.urlsplit(realm).query else "?"
    url = realm + separator + urllib.parse.urlencode(sorted(query.items()))
    status, _, body = probe.request(url, "GET", Role.AUTH_TOKEN, body_limit=MAX_TOKEN_BYTES)
    if status != 200:
        raise TraceError(f"token endpoint answered {status}")
    try:
        data = json.loads(body)
        token = data.get("token") or data.get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise TraceError("token endpoint answered without a token")
    return {"Authorization": f"Bearer {token}"}


def _fetch_manifest(probe: _Probe, base: str, repository: str, reference: str,
                    auth: dict[str, str]) -> dict[str, object]:
    url = f"{base}/v2/{repository}/manifests/{reference}"
    status, _, body = probe.request(url, "GET", Role.MANIFEST, {"Accept": MANIFEST_ACCEPT, **auth},
                                    body_limit=MAX_MANIFEST_BYTES)
    _check_status(status, "manifest", reference)
    try:
        manifest = json.loads(body)
    except ValueError:
        raise TraceError(f"manifest {reference} is not JSON") from None
    if not isinstance(manifest, dict):
        raise TraceError(f"manifest {reference} is not a JSON object")
    return manifest


def _pick_platform(index: dict[str, object]) -> str:
    entries = [e for e in index.get("manifests") or [] if isinstance(e, dict) and isinstance(e.get("digest"), str)]
    if not entries:
        raise TraceError("image index lists no manifests")
    for entry in entries:
        platform = entry.get("platform") or {}
        if isinstance(platform, dict) and platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return str(entry["digest"])
    return str(entries[0]["digest"])


def _blob_digest(manifest: dict[str, object]) -> str:
    config = manifest.get("config")
    if isinstance(config, dict) and isinstance(config.get("digest"), str):
        return config["digest"]
    for key, field_name in (("layers", "digest"), ("fsLayers", "blobSum")):  # fsLayers: schema 1
        items = manifest.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict) and isinstance(
                items[0].get(field_name), str):
            return str(items[0][field_name])
    raise TraceError("manifest names no config or layer blob")
