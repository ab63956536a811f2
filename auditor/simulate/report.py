"""The simulation as text (for people) and JSON (for tools): per host, per image, per client."""

from __future__ import annotations

import json

from auditor.simulate.run import HostResult, Simulation


def _word(allowed: bool | None) -> str:
    return {True: "allowed", False: "DENIED", None: "error"}[allowed]


def _safe(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def render_text(sim: Simulation) -> str:
    replayed = [h for h in sim.hosts if h.engine is not None]
    lines = [f"Simulation on the real {sim.engine} (target {sim.target}), loopback only: {len(replayed)} host(s) "
             f"replayed, {len(sim.disagreements)} disagreement(s) with the static audit.", ""]
    width = max((len(h.host) for h in sim.hosts), default=10)
    lines.append(f"  {'host':<{width}}  {'static':<8} {'engine':<8} agree  detail")
    for host in sim.hosts:
        if host.engine is None:
            lines.append(f"  {_safe(host.host):<{width}}  {_word(host.predicted_allowed):<8} {'-':<8} -      "
                         f"not replayed: {host.why_not_replayed}")
            continue
        agree = {True: "yes", False: "NO", None: "?"}[host.agrees]
        lines.append(f"  {_safe(host.host):<{width}}  {_word(host.predicted_allowed):<8} "
                     f"{_word(host.engine.allowed):<8} {agree:<6} {_safe(host.engine.detail)}")
    for host in sim.disagreements:
        lines += ["", f"DISAGREEMENT {_safe(host.host)}: the static audit says "
                      f"{'allowed' if host.predicted_allowed else 'denied'}"
                      + (f" (entry {_safe(host.entry)})" if host.entry else "")
                      + f", {sim.engine} says {_word(host.engine.allowed if host.engine else None)} "
                        f"({_safe(host.engine.detail if host.engine else '')}): a bug in one of them."]
    for title, engine, static in (
            ("Pulls that would fail (image: hosts the engine refused)", sim.failing_images(),
             sim.failing_images("static")),
            ("Clients that would be refused (client: hosts the engine refused)", sim.failing_clients(),
             sim.failing_clients("static"))):
        if not engine and not static:
            continue
        lines += ["", title + "; the static audit's prediction when it differs:"]
        for name in sorted(set(engine) | set(static)):
            refused = engine.get(name, [])
            predicted = static.get(name, [])
            also = "" if predicted == refused else f"  (static audit: {', '.join(predicted) or 'none'})"
            lines.append(f"  {_safe(name)}: {', '.join(refused) or 'none'}{also}")
    return "\n".join(lines) + "\n"


def _host_dict(host: HostResult) -> dict[str, object]:
    return {
        "host": host.host,
        "static": {"allowed": host.predicted_allowed, "entry": host.entry},
        "engine": None if host.engine is None else {"allowed": host.engine.allowed, "detail": host.engine.detail},
        "agrees": host.agrees,
        "not_replayed": host.why_not_replayed or None,
        "images": host.images,
        "clients": host.clients,
    }


def render_json(sim: Simulation) -> str:
    data = {
        "schema": "regaudit/simulation",
        "version": 1,
        "target": sim.target,
        "engine": sim.engine,
        "hosts": [_host_dict(h) for h in sim.hosts],
        "disagreements": [h.host for h in sim.disagreements],
        "failing_images": sim.failing_images(),
        "failing_clients": sim.failing_clients(),
        "predicted_failing_images": sim.failing_images("static"),
        "predicted_failing_clients": sim.failing_clients("static"),
        "configuration": sim.configuration,
    }
    return json.dumps(data, indent=2) + "\n"
