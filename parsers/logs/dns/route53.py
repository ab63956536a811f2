"""AWS Route 53 Resolver query logs (JSON lines; as delivered to S3, optionally gzip, or CloudWatch Logs).

Each line: query_name, query_type, rcode, answers[{Rdata, Type, Class}] (the CNAME chain included),
srcaddr, query_timestamp (ISO 8601 UTC), and with DNS Firewall the firewall_rule_action
(BLOCK | ALERT | ALLOW) with the rule group and domain list. -> dns-query, cname (+ edge), dns-answer;
BLOCK -> a blocked attempt (dns-firewall). ALERT only logs: not a block. A CloudWatch export line may
carry a time stamp before the JSON object; it is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core import safe_json
from auditor.core.model import BlockReason, Evidence, ObservationKind
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.line_reader import LineParser, LineStats, head_lines, host_name, is_ip, preview

NAME = "route53"
_ADDRESS_TYPES = frozenset({"A", "AAAA"})


# detect() accepts no head without one of these (the record's key, literal or JSON-escaped):
# the registry checks them before it calls detect()
DETECT_NEEDS = (b"query_name", b"\\u")


def detect(inp: InputFile) -> bool:
    for line in head_lines(inp, 10):
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = safe_json.loads(line[start:])
        except ValueError:
            return False
        return isinstance(record, dict) and "query_name" in record and (
            "srcaddr" in record or "query_timestamp" in record)
    return False


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    return _Route53Parser(inp, ctx, stats).run()


def _text(record: dict, key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


class _Route53Parser(LineParser):
    NAME = NAME

    def line(self, text: str, number: int) -> None:
        start = text.find("{")
        if start < 0:
            self.malformed(number, f"not a JSON line: {preview(text)}")
            return
        try:
            record = safe_json.loads(text[start:])
        except safe_json.JsonInputError as exc:
            self.malformed(number, exc.message)
            return
        if not isinstance(record, dict) or not isinstance(record.get("query_name"), str):
            self.malformed(number, "JSON line without a query_name")
            return
        host = self.host(record["query_name"], number, "query_name")
        if host is None:
            return
        self.stats.parsed += 1
        time = self.clock.iso(_text(record, "query_timestamp")) if record.get("query_timestamp") else None
        client = _text(record, "srcaddr") or None
        rcode = _text(record, "rcode") or None
        qtype = _text(record, "query_type")
        self.batch.observe(host, ObservationKind.DNS_QUERY, number, time, client, None, rcode, qtype)
        action = _text(record, "firewall_rule_action").upper()
        if action == "BLOCK":
            rule = _text(record, "firewall_rule_group_id") or "?"
            domains = _text(record, "firewall_domain_list_id") or "?"
            self.batch.block(host, BlockReason.DNS_FIREWALL, number, time, client,
                             f"route53 dns firewall BLOCK (rule group {rule}, domain list {domains})")
        answers = record.get("answers")
        if action == "BLOCK" or not isinstance(answers, list):
            return  # a blocked query's answers are the firewall's override, not the name's
        owner = host
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            data, kind = _text(answer, "Rdata"), _text(answer, "Type")
            if kind == "CNAME":
                target, _ = host_name(data)
                if target:
                    self.batch.cname(owner, target, number, time, client)
                    owner = target
            elif kind in _ADDRESS_TYPES and is_ip(data):
                self.batch.observe(owner, ObservationKind.DNS_ANSWER, number, time, client, None, rcode, data)
