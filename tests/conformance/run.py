"""Conformance: real clients, pointed at a loopback capture server, must send
exactly what keyhole-find predicts from the same config (placeholder text,
the fingerprint of the key, or no header at all).

Prints one line per scenario and a closing "N passed, N failed".
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture  # noqa: E402

CANARY = "sk-or-v1-" + "c" * 60 + "CF01"   # right shape, obviously fake
CANARY2 = "sk-or-v1-" + "c" * 60 + "CF02"
CANARY_RUN = "c" * 30


def sha8(s):
    return hashlib.sha256(s.encode()).hexdigest()[:8]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ctx:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="keyhole-conformance-")
        self.log = os.path.join(self.tmp, "capture.jsonl")
        self.srv = capture.start(self.log)
        self.port = self.srv.server_address[1]
        self.outputs = []
        self.keyhole_outputs = []

    def captured(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def reset(self):
        open(self.log, "w").close()

    def home(self, name):
        h = os.path.join(self.tmp, name)
        os.makedirs(h, exist_ok=True)
        return h

    def find(self, home, *paths):
        p = subprocess.run([self.args.find, "--home", home, *paths], capture_output=True, text=True, timeout=60,
                           env={"PATH": os.environ["PATH"], "HOME": home})
        self.keyhole_outputs += [p.stdout, p.stderr]
        return [json.loads(l) for l in p.stdout.splitlines()]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# ---------- Continue CLI ----------

def continue_config(ctx, api_key_line):
    return ("name: conformance\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: m\n    provider: openrouter\n"
            f"    model: anthropic/claude-sonnet-4.5\n    apiBase: http://127.0.0.1:{ctx.port}/api/v1/\n" + api_key_line)


def run_cn(ctx, home, env_extra):
    work = os.path.join(home, "work")
    os.makedirs(work, exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": home, **env_extra}
    ctx.reset()
    p = subprocess.run([ctx.args.cn, "--config", os.path.join(home, ".continue/config.yaml"), "-p", "2+2"], cwd=work,
                       env=env, capture_output=True, text=True, timeout=120)
    ctx.outputs += [p.stdout, p.stderr]
    caps = [c for c in ctx.captured() if c["path"].endswith("/chat/completions")]
    assert caps, f"cn sent no chat request (exit {p.returncode}): {p.stdout[-400:]} {p.stderr[-400:]}"
    return caps[0]


def model_site(sites):
    s = [x for x in sites if x.get("tool") == "continue" and x["id"].endswith("#/models/0")]
    assert len(s) == 1, f"expected one continue model site, got {[x.get('id') for x in sites]}"
    return s[0]


def continue_env_placeholder(ctx):
    h = ctx.home("cn-env-placeholder")
    write(f"{h}/.continue/config.yaml", continue_config(ctx, '    apiKey: "${env:OPENROUTER_API_KEY}"\n'))
    site = model_site(ctx.find(h))
    cap = run_cn(ctx, h, {"OPENROUTER_API_KEY": CANARY})
    assert site["key"]["from"] == "placeholder", site
    assert cap["authorization"]["text"] == site["key"]["text"] == "${env:OPENROUTER_API_KEY}", (cap, site)


def continue_secrets_from_dotenv(ctx):
    h = ctx.home("cn-secrets-dotenv")
    write(f"{h}/.continue/config.yaml", continue_config(ctx, "    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n"))
    write(f"{h}/.continue/.env", f"OPENROUTER_API_KEY={CANARY}\n")
    sites = ctx.find(h)
    site = model_site(sites)
    assert (site["key"]["from"], site["key"]["var"], site["key"]["syntax"]) == ("env", "OPENROUTER_API_KEY", "secrets"), site
    dot = [x for x in sites if x["source"]["file"].endswith(".continue/.env")][0]
    cap = run_cn(ctx, h, {})
    assert cap["authorization"]["sha8"] == dot["key"]["fp"]["sha8"], (cap, dot)


def continue_process_env_beats_dotenv(ctx):
    h = ctx.home("cn-env-beats-dotenv")
    write(f"{h}/.continue/config.yaml", continue_config(ctx, "    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n"))
    write(f"{h}/.continue/.env", f"OPENROUTER_API_KEY={CANARY}\n")
    cap = run_cn(ctx, h, {"OPENROUTER_API_KEY": CANARY2})
    # The CLI reads process.env first: the catalogue entry's dotenv rules say overrides_env=false.
    assert cap["authorization"]["sha8"] == sha8(CANARY2), cap


def continue_no_api_key(ctx):
    h = ctx.home("cn-no-key")
    write(f"{h}/.continue/config.yaml", continue_config(ctx, ""))
    site = model_site(ctx.find(h))
    cap = run_cn(ctx, h, {"OPENROUTER_API_KEY": CANARY})
    assert site["key"]["from"] == "none" and "empty Bearer" in site["key"]["note"], site
    assert cap["authorization"] is not None and cap["authorization"]["len"] == 0, cap


def continue_trailing_space(ctx):
    h = ctx.home("cn-trailing-space")
    write(f"{h}/.continue/config.yaml", continue_config(ctx, f'    apiKey: "{CANARY} "\n'))
    site = model_site(ctx.find(h))
    cap = run_cn(ctx, h, {})
    fp = site["key"]["fp"]
    assert fp["sha8"] == sha8(CANARY + " ") and "trailing_whitespace" in fp["flaws"], fp
    # What the wire carries: the key without the space (measured), one byte shorter.
    assert cap["authorization"]["sha8"] == sha8(CANARY) and cap["authorization"]["len"] == fp["len"] - 1, cap


# ---------- LiteLLM proxy ----------

LITELLM_CONFIG = """model_list:
  - model_name: m-env
    litellm_params:
      model: openrouter/anthropic/claude-sonnet-4.5
      api_key: os.environ/OPENROUTER_API_KEY
      api_base: http://127.0.0.1:{port}/m-env/api/v1
  - model_name: m-placeholder
    litellm_params:
      model: openrouter/anthropic/claude-sonnet-4.5
      api_key: "${{OPENROUTER_API_KEY}}"
      api_base: http://127.0.0.1:{port}/m-placeholder/api/v1
  - model_name: m-implicit
    litellm_params:
      model: openrouter/anthropic/claude-sonnet-4.5
      api_base: http://127.0.0.1:{port}/m-implicit/api/v1
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def with_proxy(ctx, home, env_extra, fn):
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": home, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_MASTER_KEY": "sk-keyhole-master", "NO_PROXY": "*", **env_extra}
    logf = open(os.path.join(home, "proxy.log"), "w")
    p = subprocess.Popen([ctx.args.litellm, "--config", os.path.join(home, "proxy/config.yaml"), "--port", str(port)],
                         cwd=home, env=env, stdout=logf, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=2).read()
                break
            except Exception:
                if p.poll() is not None or time.time() > deadline:
                    raise AssertionError("litellm proxy did not start: " + open(os.path.join(home, "proxy.log")).read()[-800:])
                time.sleep(0.5)
        ctx.reset()
        return fn(port)
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        logf.close()
        ctx.outputs.append(open(os.path.join(home, "proxy.log")).read())


def ask(port, model):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/chat/completions", method="POST",
                                 data=json.dumps({"model": model, "messages": [{"role": "user", "content": "2+2"}]}).encode(),
                                 headers={"Authorization": "Bearer sk-keyhole-master", "Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(req, timeout=60).status
    except urllib.error.HTTPError as e:
        return e.code


def upstream(ctx, model):
    caps = [c for c in ctx.captured() if c["path"].startswith(f"/{model}/")]
    assert caps, f"the proxy never reached the upstream for {model}"
    return caps[0]


def litellm_proxy(ctx):
    h = ctx.home("litellm-proxy")
    write(f"{h}/proxy/config.yaml", LITELLM_CONFIG.format(port=ctx.port))
    sites = {s["id"].split("#")[1]: s for s in ctx.find(h, f"{h}/proxy/config.yaml") if s["tool"] == "litellm"}
    env_site, ph_site, imp_site = sites["/model_list/0"], sites["/model_list/1"], sites["/model_list/2"]
    assert (env_site["key"]["from"], env_site["key"]["var"]) == ("env", "OPENROUTER_API_KEY"), env_site
    assert ph_site["key"]["from"] == "placeholder", ph_site
    assert (imp_site["key"]["from"], imp_site["key"]["var"]) == ("env", "OPENROUTER_API_KEY"), imp_site

    def set_run(port):
        for m in ("m-env", "m-placeholder", "m-implicit"):
            ask(port, m)
        return {m: upstream(ctx, m) for m in ("m-env", "m-placeholder", "m-implicit")}

    caps = with_proxy(ctx, h, {"OPENROUTER_API_KEY": CANARY}, set_run)
    assert caps["m-env"]["authorization"]["sha8"] == sha8(CANARY), caps["m-env"]
    assert caps["m-implicit"]["authorization"]["sha8"] == sha8(CANARY), caps["m-implicit"]
    assert caps["m-placeholder"]["authorization"]["text"] == ph_site["key"]["text"], caps["m-placeholder"]

    def unset_run(port):
        status = ask(port, "m-env")
        return status, upstream(ctx, "m-env")

    status, cap = with_proxy(ctx, h, {}, unset_run)
    # The variable the record names is unset in the proxy's environment: no header at all (measured).
    assert cap["authorization"] is None, cap
    assert status == 401, status


SCENARIOS = [
    ("continue: ${env:X} is sent literally", continue_env_placeholder, "cn"),
    ("continue: ${{ secrets.X }} from ~/.continue/.env", continue_secrets_from_dotenv, "cn"),
    ("continue: process env beats ~/.continue/.env (CLI)", continue_process_env_beats_dotenv, "cn"),
    ("continue: no apiKey sends an empty Bearer", continue_no_api_key, "cn"),
    ("continue: a trailing space is trimmed on the wire", continue_trailing_space, "cn"),
    ("litellm proxy: os.environ/X, ${X}, implicit, and unset", litellm_proxy, "litellm"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cn")
    ap.add_argument("--litellm")
    ap.add_argument("--find", required=True)
    ap.add_argument("-k", default="")
    args = ap.parse_args()
    ctx = Ctx(args)
    passed = failed = 0
    for name, fn, needs in SCENARIOS:
        if args.k and args.k not in name:
            continue
        t = time.time()
        try:
            fn(ctx)
            passed += 1
            print(f"ok   {name} ({time.time() - t:.1f}s)", flush=True)
        except Exception as e:  # report and go on
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    # No canary may appear in anything keyhole printed.
    leaks = [o for o in ctx.keyhole_outputs if CANARY_RUN in o]
    if leaks:
        failed += 1
        print(f"FAIL keyhole output holds a canary key ({len(leaks)} outputs)", flush=True)
    elif not args.k:
        passed += 1
        print(f"ok   no canary in {len(ctx.keyhole_outputs)} keyhole outputs", flush=True)
    shutil.rmtree(ctx.tmp, ignore_errors=True)
    ctx.srv.shutdown()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
