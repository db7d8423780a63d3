#!/usr/bin/env python3
"""Checks that hotline's top-level modules point down: no import cycle between them, and each
imports only from its own layer or the layers below. `crate::AppState` (lib.rs, the composition
root) is not a module and does not count.

    python3 scripts/check_layers.py          # prints the module graph; exits 1 on a violation
"""
import os
import re
import sys

# Bottom to top. A module may use modules of its own layer (without a cycle) and of any layer
# below; never one above.
LAYERS = [
    ["text", "secret", "calendar", "db", "places", "time"],  # pure logic and storage
    ["templates", "work", "metrics", "ledger"],  # rendering, the background-work core, counters, the hash chain
    ["sms", "mail"],  # transport: gateways and the outbox; email
    ["projects", "accounts", "cases", "reports", "alerts", "followups"],  # the domain
    ["conversations"],  # what a worker's SMS means: intent, dialogs
    ["web", "demo"],  # HTTP (API, console, webhooks), the demonstration
    ["config", "server", "fuzzing"],  # assembles every module's configuration; the running service; fuzz targets
]

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return "\n".join(line.split("//")[0] for line in text.split("\n"))


def uses(text):
    """Top-level modules named by `crate::x` paths and `use crate::{x, y::…}` groups."""
    found = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)\b(?!!)", text))
    for group in re.findall(r"\bcrate::\{(.*?)\};", text, flags=re.S):
        depth, token = 0, ""
        for ch in group + ",":
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                name = token.strip().split("::")[0].strip()
                if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name != "self":
                    found.add(name)
                token = ""
                continue
            token += ch
    return found


def graph():
    edges = {}
    for dirpath, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), SRC)
            top = rel.split(os.sep)[0].removesuffix(".rs")
            if top in ("lib", "main"):
                continue
            with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                text = strip_comments(fh.read())
            targets = {m for m in uses(text) if m != top and m[0].islower()}
            edges.setdefault(top, set()).update(targets)
    return edges


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    edges = graph()
    layer_of = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    problems = []
    for m in sorted(edges):
        if m not in layer_of:
            problems.append(f"{m}: not in any layer of scripts/check_layers.py")
            continue
        targets = sorted(edges[m])
        print(f"{m} -> {', '.join(targets) if targets else '(nothing)'}")
        for t in targets:
            if t in layer_of and layer_of[t] > layer_of[m]:
                problems.append(f"{m} uses {t}, a layer above it")
    for comp in cycles(edges):
        problems.append("import cycle between " + ", ".join(comp))
    for p in problems:
        print("error:", p)
    print(f"{len(edges)} modules, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
