"""Generate a benchmark home: ~200,000 files, mostly node_modules-like trees,
caches and source, plus every fixture home's real configs merged in.

usage: gen_home.py DEST [N_FILES]
Prints the number of files written.
"""
import os
import random
import shutil
import sys

dest = sys.argv[1]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fixtures = os.path.join(root, "tests", "fixtures", "homes")
rng = random.Random(42)

shutil.rmtree(dest, ignore_errors=True)
os.makedirs(dest)
count = 0

# The real configs: every fixture home merged into one.
for tool in sorted(os.listdir(fixtures)):
    src = os.path.join(fixtures, tool)
    for dirpath, _dirs, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for f in files:
            d = os.path.join(dest, rel, f)
            if os.path.exists(d):
                continue
            shutil.copyfile(os.path.join(dirpath, f), d)
            count += 1

JS = "module.exports = function x(a, b) { return a + b; };\n// " + "lorem ipsum " * 20 + "\n"
words = ["core", "utils", "lib", "dist", "src", "esm", "cjs", "types", "internal", "helpers"]


def write(path, text):
    global count
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    count += 1


projects = 40
p = 0
while count < target:
    proj = os.path.join(dest, "code", f"project{p % projects:02d}")
    # Source files and a package.json per project.
    if p < projects:
        write(os.path.join(proj, "package.json"), '{"name": "p%d", "version": "1.0.0"}\n' % p)
        for i in range(50):
            write(os.path.join(proj, "src", f"mod{i}.js"), JS)
    # node_modules trees: the bulk.
    pkg = os.path.join(proj, "node_modules", f"pkg{p:04d}")
    write(os.path.join(pkg, "package.json"), '{"name": "pkg%d"}\n' % p)
    for i in range(120):
        sub = os.path.join(pkg, rng.choice(words), rng.choice(words))
        write(os.path.join(sub, f"f{i}.js"), JS)
    # One in 10 packages ships an .env in its tests (keyhole prunes node_modules).
    if p % 10 == 0:
        write(os.path.join(pkg, "test", ".env"), "OPENROUTER_API_KEY=sk-or-v1-notreal\n")
    # Caches under the home.
    for i in range(20):
        write(os.path.join(dest, ".cache", f"c{p:04d}", f"{i}.bin"), "x" * 200)
    p += 1
print(count)
