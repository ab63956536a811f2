"""What went over the wire: pcap/pcapng captures (decoders under `capture/`) and the JSON of a live probe."""
