"""The pre-deployment experiment: the real engine (Squid, Unbound) on loopback, replaying what clients need.

Nothing here sends a packet to any address outside 127.0.0.0/8: the engines listen on 127.0.0.1, resolve
every name to 127.0.0.1 (a hosts file, a stub upstream) and the only upstreams are local dummies.
"""
