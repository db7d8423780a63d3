#!/usr/bin/env python3
"""Prove the Dockerfile builds.

Usage: python3 scripts/dockerfile_build.py [--keep DIR]

Where a Docker daemon answers, this is `docker build .`. Where none runs (CI machines, this
workplace), it runs the Dockerfile's build stages step by step, exactly as written, in a clean
folder: each stage gets a folder of its own standing for its file system, `FROM <stage>` starts
from a copy of that stage's, `WORKDIR`, `ENV`, `COPY` (the build context minus .dockerignore, or
`--from=<stage>`) and `RUN` act on it, and `RUN` runs with this machine's Rust toolchain in
place of the `rust` image's. The runtime stage (a Debian image: apt-get and useradd need a
container) is checked for what it takes from the build: the binary it copies must exist and
run. Exits non-zero at the first step that fails, naming it.
"""

import fnmatch
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(msg):
    print(f"dockerfile_build: {msg}", file=sys.stderr)
    sys.exit(1)


def instructions(path):
    """(line number, keyword, argument) for each instruction, continuations joined."""
    out, buf, start = [], "", 0
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if not buf:
                start = n
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            buf += line
            word, _, rest = buf.strip().partition(" ")
            out.append((start, word.upper(), rest.strip()))
            buf = ""
    return out


def ignored_patterns():
    p = os.path.join(ROOT, ".dockerignore")
    if not os.path.exists(p):
        return []
    with open(p, encoding="utf-8") as f:
        return [l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")]


def copy_context(dest):
    patterns = ignored_patterns()

    def ignore(directory, names):
        rel_dir = os.path.relpath(directory, ROOT)
        skip = []
        for name in names:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if any(fnmatch.fnmatch(rel, pat) for pat in patterns):
                skip.append(name)
        return skip

    for name in os.listdir(ROOT):
        if name in ignore(ROOT, [name]):
            continue
        src = os.path.join(ROOT, name)
        dst = os.path.join(dest, name)
        if os.path.isdir(src):
            shutil.copytree(src, dst, ignore=ignore, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


def docker_available():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def main():
    if docker_available():
        r = subprocess.run(["docker", "build", "-t", "hotline:ci", ROOT])
        sys.exit(r.returncode)
    steps = instructions(os.path.join(ROOT, "Dockerfile"))
    work = tempfile.mkdtemp(prefix="hotline-docker-")
    if "--keep" in sys.argv:
        work = sys.argv[sys.argv.index("--keep") + 1]
        os.makedirs(work, exist_ok=True)
    stages = {}  # name -> (root, workdir)
    root = workdir = None
    env = dict(os.environ)
    env.pop("CARGO_TARGET_DIR", None)  # the image builds into ./target
    runtime = False
    for n, word, arg in steps:
        where = f"Dockerfile:{n} {word} {arg}"
        if word == "FROM":
            parts = arg.split()
            base = parts[0]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else f"stage{len(stages)}"
            root = os.path.join(work, name)
            if base in stages:
                shutil.copytree(stages[base][0], root, symlinks=True)
                workdir = stages[base][1].replace(stages[base][0], root, 1)
            else:
                os.makedirs(root)
                workdir = root
                runtime = not base.startswith("rust:")
            stages[name] = (root, workdir)
            print(f"== {where}" + ("  (runtime image: only what it copies is checked)" if runtime else ""))
            continue
        if root is None:
            fail(f"{where}: before any FROM")
        name = next(k for k, v in stages.items() if v[0] == root)
        if word == "WORKDIR":
            workdir = os.path.join(root, arg.lstrip("/"))
            os.makedirs(workdir, exist_ok=True)
            stages[name] = (root, workdir)
        elif word == "ENV":
            if not runtime:
                for pair in shlex.split(arg):
                    k, _, v = pair.partition("=")
                    env[k] = v
        elif word == "COPY":
            args = shlex.split(arg)
            source_stage = None
            if args[0].startswith("--from="):
                source_stage = args.pop(0).split("=", 1)[1]
            *srcs, dst = args
            target = os.path.join(workdir, dst) if not dst.startswith("/") else os.path.join(root, dst.lstrip("/"))
            if source_stage is None:
                if srcs != ["."]:
                    fail(f"{where}: only `COPY . DEST` from the context is emulated")
                if runtime:
                    continue
                print(f"== {where}")
                os.makedirs(target, exist_ok=True)
                copy_context(target)
                continue
            if source_stage not in stages:
                fail(f"{where}: no stage {source_stage}")
            for src in srcs:
                path = os.path.join(stages[source_stage][0], src.lstrip("/"))
                if not os.path.exists(path):
                    fail(f"{where}: {src} does not exist in stage {source_stage}")
                print(f"== {where}")
                if dst.endswith("/") or os.path.isdir(target):
                    os.makedirs(target, exist_ok=True)
                    target = os.path.join(target, os.path.basename(src))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.isdir(path):
                    shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(path, target)
                if runtime and os.access(target, os.X_OK) and not os.path.isdir(target):
                    r = subprocess.run([target, "version"], capture_output=True, text=True)
                    if r.returncode != 0:
                        fail(f"{where}: the copied binary does not run: {r.stderr}")
                    print(f"   {r.stdout.strip()}")
        elif word == "RUN":
            if runtime:
                print(f"-- {where}  (needs the container: skipped)")
                continue
            print(f"== {where}", flush=True)
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", arg], cwd=workdir, env=env)
            if r.returncode != 0:
                fail(f"{where}: exit {r.returncode}")
        elif word in ("USER", "VOLUME", "EXPOSE", "HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT", "CMD", "LABEL", "ARG"):
            continue
        else:
            fail(f"{where}: not emulated")
    print(f"dockerfile_build: every build step ran (in {work})")
    if "--keep" not in sys.argv:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
