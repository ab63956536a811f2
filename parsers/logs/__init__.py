"""Logs: DNS server logs (under `dns/`), Docker/CI logs with blocked pulls, Squid access logs. `line_reader`
is the block reader and line machinery they share."""
