"""`regaudit discover` output: a readable table, or JSON following schemas/discover.schema.json."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from auditor import __version__
from auditor.core.evidence import EvidenceStore
from reports.json_text import iter_indented_pieces, settled
from reports.serialize import activity_dict, evidence_dict

DISCOVER_SCHEMA_ID = "regaudit/discover"
DISCOVER_SCHEMA_VERSION = 1


def discover_document(store: EvidenceStore, with_observed: bool = True) -> dict[str, object]:
    """The discover JSON document (WITH_OBSERVED False: its `observed_hosts` an empty list, for the pieces)."""
    return {
        "schema": DISCOVER_SCHEMA_ID,
        "version": DISCOVER_SCHEMA_VERSION,
        "regaudit_version": __version__,
        **evidence_dict(store, with_observed),
    }


def render_json(store: EvidenceStore) -> str:
    return "".join(settled(render_json_pieces(store)))


def render_json_pieces(store: EvidenceStore) -> Iterator[str]:
    """render_json's text in pieces as they are made (write_output writes each and lets it go): the observed
    hosts, all of a flood's document, are made into dicts and encoded a chunk at a time, and their text is not
    held whole either (iter_indented_pieces)."""
    document = discover_document(store, with_observed=False)
    yield from iter_indented_pieces(document, "observed_hosts", store.sorted_activity(), activity_dict,
                                    ensure_ascii=False)
    yield "\n"


def _safe(text: object) -> str:
    """Terminal-safe: control characters from hostile inputs are shown escaped, never emitted."""
    value = "" if text is None else str(text)
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    if not rows:
        return []
    cells = [[_safe(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    widths[-1] = 0  # the last column is not padded: it may be long
    lines = [f"{title} ({len(rows)})", "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return [*lines, ""]


def render_table(store: EvidenceStore) -> str:
    doc = evidence_dict(store)
    out: list[str] = []
    out += _table("Image references", ["REGISTRY", "ENDPOINT", "REPOSITORY", "TAG", "DIGEST", "KIND", "LOCATION"], [
        (r["registry"], r["endpoint"], r["repository"], r["tag"] or ("(unresolved)" if r["unresolved"] else ""),
         _short_digest(r["digest"]), r["kind"],
         r["location"]) for r in doc["references"]])  # type: ignore[index, union-attr]
    out += _table("Hosts named directly", ["HOST", "PURPOSE", "KIND", "LOCATION"], [
        (r["host"], r["purpose"], r["kind"], r["location"]) for r in doc["host_references"]])  # type: ignore[index, union-attr]
    out += _table("Observed hosts", ["HOST", "COUNT", "CLIENTS", "KINDS", "FIRST SEEN", "LAST SEEN"], [
        (a["host"], a["count"], len(a["clients"]), ",".join(a["kinds"]), a["first_seen"] or "", a["last_seen"] or "")
        for a in doc["observed_hosts"]])  # type: ignore[index, union-attr, arg-type]
    out += _table("Redirect edges", ["FROM", "TO", "VIA", "COUNT", "EVIDENCE"], [
        (e["from"], e["to"], e["via"], e["count"], ", ".join(e["sources"][:2]))  # type: ignore[index]
        for e in doc["redirect_edges"]])  # type: ignore[union-attr]
    blocked = doc["blocked"]["groups"]  # type: ignore[index]
    out += _table("Blocked attempts", ["HOST", "COUNT", "CLIENTS", "REASONS", "FIRST", "LAST"], [
        (g["host"], g["count"], len(g["clients"]), ",".join(g["reasons"]), g["first_seen"] or "", g["last_seen"] or "")
        for g in blocked])
    out += _table("Unresolved references", ["TEXT", "REASON", "LOCATION"], [
        (u["text"], u["reason"], u["location"]) for u in doc["unresolved"]])  # type: ignore[index, union-attr]
    out += _table("Input errors", ["LOCATION", "MESSAGE"], [
        (e["location"], e["message"]) for e in doc["errors"]])  # type: ignore[index, union-attr]
    summary = (f"{len(store.references)} references, {len(store.host_references)} named hosts, "
               f"{len(store.activity)} observed hosts, {len(store.edges)} redirect edges, "
               f"{store.blocked_total} blocked attempts, {len(store.unresolved)} unresolved, "
               f"{len(store.errors)} input errors; {len(store.inputs)} inputs read, "
               f"{store.skipped_files} files skipped (not a known kind)")
    return "\n".join([*out, summary]) + "\n"


def _short_digest(digest: object) -> str:
    if not digest:
        return ""
    text = str(digest)
    algorithm, _, hexpart = text.partition(":")
    return f"{algorithm}:{hexpart[:12]}…" if len(hexpart) > 12 else text
