#!/usr/bin/env python3
"""Pick the committed fuzz seeds (fuzz/seeds/<target>) from a large corpus.

    python3 fuzz/pick-seeds.py [TARGET...]

Reads fuzz/seeds/<target> and fuzz/corpus/<target> (what `make fuzz` grew),
measures each input's coverage with the target itself, and keeps a small set:

1. every edge of keyhole's own code (crates/, fuzz/) that any input reaches,
   fewest inputs first (greedy set cover, smaller inputs on ties);
2. then EXTRA more inputs (at least MIN in all) that add the most edges in the
   parsers keyhole calls (YAML, TOML, JSONC, HTTP, the rules' regexes).

Files named regress-* are regression inputs (a crash that was fixed): always
kept, never rewritten. Inputs holding a key-shaped run of many distinct
characters are never picked: a real key must not reach git.

Needs the stable toolchain, a C++ compiler (libFuzzer), readelf and addr2line.
Builds with coverage instrumentation (no sanitizer) into fuzz/target/pick-seeds.
"""
import hashlib
import heapq
import os
import re
import shutil
import subprocess
import sys
import tempfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
EXTRA, MIN = 5, 12
KEY = re.compile(rb"(sk-(or-v1-|ant-|proj-)?[A-Za-z0-9_\-]{20,}|AIza[0-9A-Za-z_\-]{30,}|gsk_[A-Za-z0-9]{20,})")
# cargo-fuzz's coverage flags, without AddressSanitizer (needs nightly, adds no edges).
RUSTFLAGS = " ".join([
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg fuzzing", "-Cdebug-assertions", "-Coverflow-checks",
])


def targets():
    return sorted(f[:-3] for f in os.listdir(os.path.join(FUZZ, "fuzz_targets")) if f.endswith(".rs"))


def build():
    host = next(l.split()[1] for l in subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout.splitlines()
                if l.startswith("host:"))
    tdir = os.path.join(FUZZ, "target", "pick-seeds")
    env = dict(os.environ, RUSTFLAGS=RUSTFLAGS)
    # --target keeps build scripts and proc macros uninstrumented
    subprocess.run(["cargo", "build", "--release", "--locked", "--bins", "--manifest-path", os.path.join(FUZZ, "Cargo.toml"),
                    "--target", host, "--target-dir", tdir], env=env, check=True)
    return os.path.join(tdir, host, "release")


def own_edges(binary):
    """For each coverage counter, whether it lies in keyhole's own source."""
    start = size = None
    for l in subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True).stdout.splitlines():
        m = re.search(r"\]\s+__sancov_pcs\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", l)
        if m:
            start, size = int(m.group(1), 16), int(m.group(2), 16)
    n = size // 16  # (pc, flags) per counter, in counter order
    pcs = [0] * n  # a PIE: the table's PCs are relative relocations; none for code the linker dropped
    for l in subprocess.run(["readelf", "-r", "-W", binary], capture_output=True, text=True).stdout.splitlines():
        p = l.split()
        if len(p) >= 4 and p[2].endswith("_RELATIVE"):
            off = int(p[0], 16)
            if start <= off < start + size and (off - start) % 16 == 0:
                pcs[(off - start) // 16] = int(p[3], 16)
    locs = subprocess.run(["addr2line", "-e", binary] + [hex(x) for x in pcs], capture_output=True, text=True).stdout.splitlines()
    mine = (os.path.join(ROOT, "crates") + "/", FUZZ + "/")
    return [pc != 0 and loc.startswith(mine) for pc, loc in zip(pcs, locs)]


def features(binary, dirs):
    """Every input's coverage features (libFuzzer's set-cover merge writes them all)."""
    with tempfile.TemporaryDirectory() as tmp:
        ctl, out = os.path.join(tmp, "control"), os.path.join(tmp, "out")
        os.mkdir(out)
        subprocess.run([binary, "-set_cover_merge=1", "-merge_control_file=" + ctl, "-rss_limit_mb=2048", out] + dirs,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        lines = open(ctl).read().split("\n")
    n = int(lines[0])
    files, ft = lines[2:2 + n], {}
    for l in lines[2 + n:]:
        if l.startswith("FT "):
            p = l.split()
            ft[files[int(p[1])]] = {int(x) for x in p[2:]}
    return ft


def greedy(cands, gain, budget):
    # coverage gains only shrink as the set grows: re-score lazily
    heap = [(tuple(-g for g in gain(i)), i) for i in cands]
    heapq.heapify(heap)
    while heap and budget > 0:
        _, i = heapq.heappop(heap)
        g = gain(i)
        if g[0] == 0:
            continue
        if heap and tuple(-x for x in g) > heap[0][0]:
            heapq.heappush(heap, (tuple(-x for x in g), i))
            continue
        budget -= 1
        yield i


def pick(binary, t):
    seeds, corpus = os.path.join(FUZZ, "seeds", t), os.path.join(FUZZ, "corpus", t)
    os.makedirs(seeds, exist_ok=True)
    dirs = [d for d in (seeds, corpus) if os.path.isdir(d) and os.listdir(d)]
    ft = features(binary, dirs)
    mine = own_edges(binary)
    data = {f: open(f, "rb").read() for f in ft}
    keylike = {f for f in ft if any(len(set(m.group(0).split(b"-")[-1])) >= 10 for m in KEY.finditer(data[f]))}
    regress = {f for f in ft if os.path.basename(f).startswith("regress-")}
    cands = [f for f in ft if f not in keylike and f not in regress]
    own = {f: {x >> 3 for x in ft[f] if (x >> 3) < len(mine) and mine[x >> 3]} for f in cands}
    edges = {f: {x >> 3 for x in ft[f]} for f in cands}
    O, E = set(), set()
    for f in regress:
        E |= {x >> 3 for x in ft[f]}
    chosen = []
    for f in greedy(cands, lambda f: (len(own[f] - O), len(edges[f] - E), -len(data[f])), len(cands)):
        O |= own[f]; E |= edges[f]; chosen.append(f)
    first = len(chosen)
    rest = [f for f in cands if f not in set(chosen)]
    for f in greedy(rest, lambda f: (len(edges[f] - E), -len(data[f])), max(first + EXTRA, MIN) - first):
        E |= edges[f]; chosen.append(f)
    all_own, all_edges = set().union(*own.values()), set().union(*edges.values())
    keep = {hashlib.sha1(data[f]).hexdigest(): data[f] for f in chosen}
    for name in os.listdir(seeds):
        if not name.startswith("regress-"):
            os.remove(os.path.join(seeds, name))
    for name, body in keep.items():
        with open(os.path.join(seeds, name), "wb") as w:
            w.write(body)
    print(f"{t}: {len(ft)} inputs ({len(keylike)} key-shaped skipped) -> {len(keep)} + {len(regress)} regress-*; "
          f"own edges {len(O)}/{len(all_own)}, all edges {len(E)}/{len(all_edges)} ({100 * len(E) / max(1, len(all_edges)):.0f}%)")


def main():
    ts = sys.argv[1:] or targets()
    out = build()
    for t in ts:
        pick(os.path.join(out, t), t)


if __name__ == "__main__":
    main()
