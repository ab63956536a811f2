"""DNS server logs: Zeek, BIND 9, dnsmasq / Pi-hole, Unbound, CoreDNS, Route 53 Resolver, Windows DNS."""
