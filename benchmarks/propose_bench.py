"""Time of the proposal pipeline on generated evidence: the DP, the required-host closure, timing inference.

Generates HOSTS required hosts spread over DOMAINS registrable domains (some under shared domains such as
s3.amazonaws.com), so the narrowest placement exceeds the budget and the dynamic programme has to run;
and a timeline of EVENTS connection starts (pulls followed by blob hosts, plus background traffic) for
the timing inference. Prints wall-clock seconds per stage and the tree size.

    python -m benchmarks.propose_bench [--hosts N] [--domains N] [--budget N] [--events N]
"""

from __future__ import annotations

import argparse
import random
import time

from auditor.core.evidence import EvidenceStore
from auditor.core.model import ImageReference, Observation, ObservationKind
from auditor.decisions.propose import build_tree, propose, solve
from auditor.decisions.redirects import build_graph, infer_timing_edges
from auditor.decisions.requirements import RequiredHost, required_hosts
from auditor.knowledge import load_knowledge


def _hosts(rng: random.Random, count: int, domains: int) -> list[str]:
    parents = [f"corp{i}.example" for i in range(domains // 2)]
    parents += [f"bucket{i}.s3.eu-west-1.amazonaws.com" for i in range(domains - len(parents))]
    hosts = set()
    while len(hosts) < count:
        depth = rng.randint(1, 3)
        labels = [f"n{rng.randint(0, 40)}" for _ in range(depth)]
        hosts.add(".".join([*labels, rng.choice(parents)]))
    return sorted(hosts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--domains", type=int, default=60)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--events", type=int, default=500_000)
    args = parser.parse_args()
    rng = random.Random(7)
    knowledge = load_knowledge()

    hosts = _hosts(rng, args.hosts, args.domains)
    started = time.perf_counter()
    nodes, roots = build_tree(hosts, knowledge)
    built = time.perf_counter()
    penalty, chosen = solve(nodes, roots, args.budget)
    solved = time.perf_counter()
    print(f"tree: {len(hosts)} required hosts, {len(nodes)} nodes, {len(roots)} roots; "
          f"build {built - started:.2f}s (penalties, Public Suffix List look-ups)")
    print(f"dp:   budget {args.budget}: {len(chosen)} entries, penalty {penalty is not None}; {solved - built:.2f}s")
    started = time.perf_counter()
    proposal = propose([RequiredHost(h, {"api"}) for h in hosts], knowledge, budget=args.budget)
    print(f"propose(): {len(proposal.entries)} entries, {len(proposal.collapsed)} collapsed; "
          f"{time.perf_counter() - started:.2f}s")

    store = EvidenceStore()
    registries = [f"registry{i}.corp.example" for i in range(20)]
    for registry in registries:
        store.add(ImageReference(f"{registry}/app:1", registry, registry, "app", "1"))
    clients = [f"10.0.{i // 250}.{i % 250}" for i in range(500)]
    background = [f"site{i}.example" for i in range(2000)]
    start = 1_790_000_000.0
    for index in range(args.events):
        moment = start + rng.uniform(0, 86_400)
        client = rng.choice(clients)
        if index % 10 == 0:
            registry = rng.choice(registries)
            store.add(Observation(registry, ObservationKind.TLS_SNI, time=moment, client=client, detail=""))
            store.add(Observation(f"blobs.{registry}", ObservationKind.TLS_SNI, time=moment + 0.4, client=client))
        else:
            store.add(Observation(rng.choice(background), ObservationKind.TLS_SNI, time=moment, client=client))
    started = time.perf_counter()
    edges = infer_timing_edges(store.timeline, set(registries))
    print(f"timing: {len(store.timeline)} timeline events, {len(edges)} edges "
          f"(expected {len(registries)}); {time.perf_counter() - started:.2f}s")
    started = time.perf_counter()
    graph = build_graph(store, knowledge)
    required = required_hosts(store, knowledge, graph)
    print(f"graph+required: {len(graph.edges)} edges, {len(required)} required; "
          f"{time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
