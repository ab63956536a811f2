"""Blocked pulls and logins in Docker CLI, daemon and CI job logs (any text log with the signatures).

    Error response from daemon: registry access to HOST is not allowed            -> ram-registry (HOST)
    Access to docker.io has been restricted by your administrators.                -> ram-docker-hub
    "docker login" is unsupported when Registry Access Management is blocking ...  -> ram-login
    image access denied: community images not allowed                            -> iam-denied
The image is taken from the same line when it names one of that registry (a BuildKit "failed to resolve
source metadata for IMAGE", a /v2/NAME/manifests/REF URL ...), else from a `docker pull IMAGE` or
"Unable to find image 'IMAGE' locally" line at most 30 lines before, when IMAGE is of that registry. Time stamps:
a leading ISO 8601 stamp (GitHub Actions writes 7 fraction digits), logrus `time="..."`, or a
syslog/journald stamp (no year: see parsers/logs/line_reader.py), whose host name becomes the client;
otherwise the client is the runner named in the job log header (`Runner name: '...'`), if any.

Only lines with a signature are looked at in Python: a regular expression finds them in each block, so
a CI log of millions of lines (a retry storm) streams at the speed of the scan, and identical attempts
are folded into one record with a count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.core.model import BlockReason, Evidence
from auditor.core.reference import DOCKER_HUB_ENDPOINT, InvalidReference, endpoint_host, parse_reference
from parsers.common.inputs import InputFile, ParseContext
from parsers.logs.line_reader import Batch, Clock, LineStats, LogReader, head_lines, host_name, strip_port

NAME = "docker_log"

_SIGNATURES = re.compile(
    r"registry access to (?P<host>\S+?) is not allowed"
    r"|(?P<hub>Access to docker\.io has been restricted by your administrators)"
    r"|(?P<login>\"docker login\" is unsupported when Registry Access Management is blocking)"
    r"|(?P<iam>image access denied: community images not allowed)"
    r"|(?:Runner|Machine) name: '(?P<runner>[^'\n]*)'"
    r"|docker(?: image)? pull (?:-\S+ )*(?P<pulled>[^\s'\"]+)|Unable to find image '(?P<wanted>[^']+)' locally")
_LITERALS = (" is not allowed", "has been restricted by your administrators",
             "is unsupported when Registry Access Management", "community images not allowed", " name: '",
             " pull ", "Unable to find image '")
PULL_CONTEXT_LINES = 30  # an error this close after `docker pull IMAGE` is about IMAGE
_SEARCHED_LIMIT = 10_000  # distinct messages whose signature match is remembered
_DETECT = re.compile(r"registry access to \S+ is not allowed|Access to docker\.io has been restricted"
                     r"|\"docker login\" is unsupported when Registry Access Management"
                     r"|image access denied: community images not allowed")
_LEADING_ISO = re.compile(r"\ufeff?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s")
_LOGRUS_TIME = re.compile(r"\btime=\"?([0-9T:.+Z-]{19,40})")
_SYSLOG = re.compile(r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) \S+?(?:\[\d+\])?: ")
_URL_IMAGE = re.compile(r"https?://([^/\s\"]+)/v2/(\S+?)/(?:manifests|blobs)/([^\s\"/]+)")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9._/:@-]*[a-z0-9]")
_IMAGE_HINTS = ("resolve source metadata for ", "pull ", "Pulling from ", "Unable to find image '", "image ",
                "FROM ", "pull access denied for ")

# detect() accepts no head without one of these (a signature _DETECT finds, or a job log header line): the registry
# checks them before it calls detect(), so a walk's JSON and text files cost a substring test
DETECT_NEEDS = (b"registry access to ", b"Access to docker.io has been restricted",
                b'"docker login" is unsupported when Registry Access Management',
                b"image access denied: community images not allowed", b"##[", b"Runner name:",
                b"Current runner version", b"dockerd")


def detect(inp: InputFile) -> bool:
    if inp.looks_binary:
        return False
    return _DETECT.search(inp.head_text) is not None or (
        inp.name.endswith((".log", ".txt")) and any("docker" in line.lower() for line in head_lines(inp, 50))
        and any(line.startswith(("##[", "Runner name:", "Current runner version")) or "dockerd" in line
                for line in head_lines(inp, 50)))


def parse(inp: InputFile, ctx: ParseContext) -> Iterator[Evidence]:
    return scan(inp, ctx, LineStats())


def scan(inp: InputFile, ctx: ParseContext, stats: LineStats) -> Iterator[Evidence]:
    reader = LogReader(inp, ctx, NAME, stats)
    clock = Clock.for_input(inp)
    batch = Batch(inp, NAME)
    runner: str | None = None
    last_pull: tuple[int, str, str] | None = None  # (line, canonical image, registry endpoint)
    messages: dict[str, tuple[str, BlockReason, str, str | None] | str] = {}
    # a line's signature match by its message (the line past a leading ISO stamp, which holds no signature):
    # a retry storm repeats one message with new stamps, and the search is most of such a line's cost
    searched: dict[str, re.Match[str] | None] = {}
    runs = _Runs(batch)
    for text, first_line in reader.blocks():
        lines_in_block = text.count("\n") + 1
        used, counted_upto, line_no = 0, 0, first_line
        for start in _candidate_lines(text):
            line_no += text.count("\n", counted_upto, start)
            counted_upto = start
            end = text.find("\n", start)
            line = text[start:end if end >= 0 else len(text)]
            leading = _LEADING_ISO.match(line)
            message = line[leading.end():] if leading else line
            try:
                match = searched[message]
            except KeyError:
                if len(searched) >= _SEARCHED_LIMIT:
                    searched.clear()
                match = searched[message] = _SIGNATURES.search(line)
            if match is None:
                continue
            if match["runner"] is not None:
                runner = match["runner"] or None
                continue
            if match["pulled"] is not None or match["wanted"] is not None:
                pulled = _pulled(match["pulled"] or match["wanted"], line_no)
                last_pull = pulled or last_pull
                continue
            used += 1
            recent = last_pull if last_pull and line_no - last_pull[0] <= PULL_CONTEXT_LINES else None
            _attempt(match, line, leading, message, line_no, runner, clock, runs, reader, messages, recent)
        runs.settle()
        stats.ignore("no blocked-attempt signature", lines_in_block - used)
        yield from batch.flush_if_full()
        yield from reader.take_errors()
    yield from batch.flush()
    yield from reader.summary()


# what a byte range needs from the lines before it (parsers/logs/range_cuts.py): the runner a job header names
# and the pulls an error takes its image from
RUNNER_LITERAL = b" name: '"


def context_of(line: str) -> str | None:
    """What `scan` takes from LINE for the lines after it: "runner" (a job header naming the runner, or an empty
    name that clears it), "pull" (a `docker pull IMAGE` or "Unable to find image" line), else None."""
    if " name: '" not in line and " pull " not in line and "Unable to find image '" not in line:
        return None  # (every context alternative of _SIGNATURES holds one of these)
    match = _SIGNATURES.search(line)
    if match is None:
        return None
    if match["runner"] is not None:
        return "runner"
    return "pull" if match["pulled"] is not None or match["wanted"] is not None else None


def _candidate_lines(text: str) -> list[int]:
    """Start offsets of the lines holding a signature's literal part, in order (C-speed `find`s)."""
    starts: set[int] = set()
    for literal in _LITERALS:
        position = text.find(literal)
        while position >= 0:
            starts.add(text.rfind("\n", 0, position) + 1)
            position = text.find(literal, position + len(literal))
    return sorted(starts)


def _attempt(match: re.Match[str], line: str, leading: re.Match[str] | None, message: str, number: int,
             runner: str | None, clock: Clock, runs: _Runs, reader: LogReader,
             messages: dict[str, tuple[str, BlockReason, str, str | None] | str],
             recent_pull: tuple[int, str, str] | None) -> None:
    """LEADING: _LEADING_ISO's match on LINE; MESSAGE: the line past it (a retry storm repeats it with new
    stamps only)."""
    known = messages.get(message)
    if known is None:
        known = messages[message] = _judge(match, line)
        if len(messages) > 10_000:
            messages.clear()
    if isinstance(known, str):
        reader.malformed(number, known)
        return
    host, reason, detail, image = known
    if image is None and recent_pull is not None and recent_pull[2] == endpoint_host(host):
        image = recent_pull[1]
    reader.stats.parsed += 1
    time, client = _time_and_client(line, clock, leading)
    runs.add((host, reason, client or runner, detail, image), number, time)


class _Runs:
    """Consecutive attempts of one key (a retry storm) folded here and given to the Batch as one call with their
    count, earliest and latest time and first line: what the Batch folds them into line by line."""

    __slots__ = ("batch", "count", "first", "key", "last", "line")

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.key: tuple[str, BlockReason, str | None, str, str | None] | None = None
        self.count, self.line = 0, 0
        self.first: float | None = None
        self.last: float | None = None

    def add(self, key: tuple[str, BlockReason, str | None, str, str | None], line: int, time: float | None) -> None:
        if key == self.key:
            self.count += 1
            if time is not None:
                first, last = self.first, self.last
                self.first = time if first is None or time < first else first
                self.last = time if last is None or time > last else last
            return
        self.settle()
        self.key, self.count, self.line, self.first, self.last = key, 1, line, time, time

    def settle(self) -> None:
        """Give the pending run to the Batch (at every block's end: the Batch is flushed by its size)."""
        if self.key is not None:
            host, reason, client, detail, image = self.key
            self.batch.block(host, reason, self.line, self.first, client, detail, image, count=self.count,
                             last_time=self.last)
            self.key = None


def _judge(match: re.Match[str], line: str) -> tuple[str, BlockReason, str, str | None] | str:
    """(host, reason, detail, image) of a signature line, or why it cannot be used."""
    if match["host"] is not None:
        host, problem = host_name(strip_port(match["host"].strip("\"'.,;:)(").lower()))
        if host is None:
            return f"registry access message with an unusable host: {problem}"
        reason = BlockReason.RAM_REGISTRY
        detail = "registry access to host is not allowed"
    else:
        host = "docker.io"
        if match["hub"] is not None:
            reason, detail = BlockReason.RAM_DOCKER_HUB, "access to docker.io restricted by administrators"
        elif match["login"] is not None:
            reason, detail = BlockReason.RAM_LOGIN, "docker login unsupported while RAM blocks Docker Hub"
        else:
            reason, detail = BlockReason.IAM_DENIED, "image access denied: community images not allowed"
    return host, reason, detail, _image(line, host)


def _pulled(text: str, line: int) -> tuple[int, str, str] | None:
    try:
        reference = parse_reference(text)
    except InvalidReference:
        return None
    return line, reference.canonical, reference.endpoint


def _time_and_client(line: str, clock: Clock, leading: re.Match[str] | None) -> tuple[float | None, str | None]:
    """The line's time (logrus `time=` is the most precise) and the host a syslog prefix names; LEADING:
    _LEADING_ISO's match on LINE."""
    syslog = _SYSLOG.match(line) if line[3:4] == " " else None
    client = syslog.group(2) if syslog else None
    logrus = _LOGRUS_TIME.search(line) if "time=" in line else None
    if logrus:
        return clock.iso(logrus.group(1)), client
    if leading:
        return clock.iso(leading.group(1)), client
    return (clock.syslog(syslog.group(1)) if syslog else None), client


def _image(line: str, host: str) -> str | None:
    """An image of HOST's registry named on the line, canonical; None if the line names none."""
    url = _URL_IMAGE.search(line)
    if url:
        registry, name, ref = url.groups()
        if endpoint_host(registry) == DOCKER_HUB_ENDPOINT:
            registry = "docker.io"
        text = f"{registry}/{name}" + (f"@{ref}" if ":" in ref else f":{ref}")
        candidates = [text]
    else:
        candidates = [token for token in _TOKEN.findall(line) if "/" in token or ":" in token]
    for token in candidates:
        if "://" in token or token.count(":") > 2:
            continue
        try:
            reference = parse_reference(token.rstrip(":"))
        except InvalidReference:
            continue
        registry = reference.registry
        if endpoint_host(host) == reference.endpoint and ("/" in token or host == "docker.io"):
            return reference.canonical
    return None

