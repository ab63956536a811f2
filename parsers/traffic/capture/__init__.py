"""Packet captures (pcap, pcapng): the readers, the header-only filter, and the DNS/TLS/HTTP decoders."""
