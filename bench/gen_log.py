"""Generate a proxy-style log of SIZE MiB: mostly ordinary request lines, with
one API-key failure of the kinds keyhole-classify knows every ~20,000 lines.

usage: gen_log.py DEST SIZE_MIB ; prints the number of failure lines written.
"""
import random
import sys

dest, size = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
rng = random.Random(7)
failures = [
    'litellm.AuthenticationError: AuthenticationError: OpenrouterException - {"error": {"message": "Missing Authentication header", "code": 401}}',
    "openai.AuthenticationError: Error code: 401 - {'error': {'message': 'User not found.', 'code': 401}}",
    '{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"rate-limited upstream","provider_name":"Liquid"}}}',
]
ordinary = [
    "INFO:     127.0.0.1:{p} - \"POST /chat/completions HTTP/1.1\" 200 OK",
    "DEBUG litellm.router: model group sonnet deployment {p} latency {l}ms tokens {t}",
    "INFO  request_id=req_{p} model=anthropic/claude-sonnet-4.5 status=200 duration={l}ms",
]
written = 0
hits = 0
with open(dest, "w") as f:
    block = []
    while written < size:
        for i in range(20000):
            line = rng.choice(ordinary).format(p=rng.randint(1000, 65000), l=rng.randint(5, 900), t=rng.randint(10, 5000))
            block.append(line)
        block.append(rng.choice(failures))
        hits += 1
        text = "\n".join(block) + "\n"
        f.write(text)
        written += len(text)
        block.clear()
print(hits)
