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

def continue_config(base, api_key_line):
    return ("name: conformance\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: m\n    provider: openrouter\n"
            f"    model: anthropic/claude-sonnet-4.5\n    apiBase: {base}/api/v1/\n" + api_key_line)


def cn_home(ctx, name, api_key_line):
    """A home whose Continue config points at a fresh keyhole-capture."""
    h = ctx.home(name)
    cap = Capture(ctx, "--as", "openrouter")
    write(f"{h}/.continue/config.yaml", continue_config(cap.base, api_key_line))
    return h, cap


def run_cn(ctx, home, env_extra, cap):
    work = os.path.join(home, "work")
    os.makedirs(work, exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": home, **env_extra}
    p = subprocess.run([ctx.args.cn, "--config", os.path.join(home, ".continue/config.yaml"), "-p", "2+2"], cwd=work,
                       env=env, capture_output=True, text=True, timeout=120)
    ctx.outputs += [p.stdout, p.stderr]
    caps = [c for c in cap.records() if c["path"].endswith("/chat/completions")]
    assert caps, f"cn sent no chat request (exit {p.returncode}): {p.stdout[-400:]} {p.stderr[-400:]}"
    a = caps[0]["auth"]
    # The shape the scenarios compare: what keyhole-capture recorded.
    if a is None:
        return {"authorization": None}
    if "placeholder" in a:
        return {"authorization": {"text": a["placeholder"], "len": len(a["placeholder"])}}
    return {"authorization": {"sha8": a["fp"]["sha8"], "len": a["fp"]["len"]}}


def model_site(sites):
    s = [x for x in sites if x.get("tool") == "continue" and x["id"].endswith("#/models/0")]
    assert len(s) == 1, f"expected one continue model site, got {[x.get('id') for x in sites]}"
    return s[0]


def continue_env_placeholder(ctx):
    h, c = cn_home(ctx, "cn-env-placeholder", '    apiKey: "${env:OPENROUTER_API_KEY}"\n')
    site = model_site(ctx.find(h))
    cap = run_cn(ctx, h, {"OPENROUTER_API_KEY": CANARY}, c)
    assert site["key"]["from"] == "placeholder", site
    assert cap["authorization"]["text"] == site["key"]["text"] == "${env:OPENROUTER_API_KEY}", (cap, site)


def continue_secrets_from_dotenv(ctx):
    h, c = cn_home(ctx, "cn-secrets-dotenv", "    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n")
    write(f"{h}/.continue/.env", f"OPENROUTER_API_KEY={CANARY}\n")
    sites = ctx.find(h)
    site = model_site(sites)
    assert (site["key"]["from"], site["key"]["var"], site["key"]["syntax"]) == ("env", "OPENROUTER_API_KEY", "secrets"), site
    dot = [x for x in sites if x["source"]["file"].endswith(".continue/.env")][0]
    cap = run_cn(ctx, h, {}, c)
    assert cap["authorization"]["sha8"] == dot["key"]["fp"]["sha8"], (cap, dot)


def continue_process_env_beats_dotenv(ctx):
    h, c = cn_home(ctx, "cn-env-beats-dotenv", "    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n")
    write(f"{h}/.continue/.env", f"OPENROUTER_API_KEY={CANARY}\n")
    cap = run_cn(ctx, h, {"OPENROUTER_API_KEY": CANARY2}, c)
    # The CLI reads process.env first: the catalogue entry's dotenv rules say overrides_env=false.
    assert cap["authorization"]["sha8"] == sha8(CANARY2), cap


def continue_no_api_key(ctx):
    h, c = cn_home(ctx, "cn-no-key", "")
    site = model_site(ctx.find(h))
    cap = run_cn(ctx, h, {"OPENROUTER_API_KEY": CANARY}, c)
    assert site["key"]["from"] == "none" and "empty Bearer" in site["key"]["note"], site
    assert cap["authorization"] is not None and cap["authorization"]["len"] == 0, cap


def continue_trailing_space(ctx):
    h, c = cn_home(ctx, "cn-trailing-space", f'    apiKey: "{CANARY} "\n')
    site = model_site(ctx.find(h))
    cap = run_cn(ctx, h, {}, c)
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


# ---------- through keyhole-capture ----------

class Capture:
    """keyhole-capture on a free loopback port; records read after it stops."""

    def __init__(self, ctx, *args):
        self.p = subprocess.Popen([ctx.args.capture, "--listen", "127.0.0.1:0", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        self.port = int(line.split("http://127.0.0.1:")[1].split()[0])
        self.base = f"http://127.0.0.1:{self.port}"
        self.ctx = ctx

    def records(self):
        self.p.terminate()
        out, err = self.p.communicate(timeout=10)
        self.ctx.keyhole_outputs += [out, err]
        return [json.loads(l) for l in out.splitlines() if l.strip()]


def keyhole_pipe(ctx, home, env_file, *find_args):
    """keyhole-find | keyhole-env, as the conformance prediction."""
    p = subprocess.run(f"{ctx.args.find} --home {home} -q {' '.join(find_args)} | {ctx.args.env} --home {home} -q "
                       f"--env-file {env_file} --proc-root {home}/noproc", shell=True, capture_output=True, text=True,
                       timeout=60, env={"PATH": os.environ["PATH"]})
    ctx.keyhole_outputs += [p.stdout, p.stderr]
    return [json.loads(l) for l in p.stdout.splitlines()]


def openai_sdk_key_from_profile(ctx):
    h = ctx.home("openai-sdk")
    write(f"{h}/.profile", f"export OPENAI_API_KEY={CANARY}\n")
    write(f"{h}/env", "PATH=/usr/bin\n")
    sites = keyhole_pipe(ctx, h, f"{h}/env")
    site = [x for x in sites if x["tool"] == "shell" and x["key"].get("fp")][0]
    cap = Capture(ctx, "--as", "openai", "--reply", "ok", "--count", "1")
    script = f"from openai import OpenAI; c = OpenAI(base_url='{cap.base}/v1'); print(c.chat.completions.create(model='gpt-5', messages=[{{'role':'user','content':'2+2'}}]).choices[0].message.content)"
    # A login shell reads ~/.profile: the context the prediction says sees the key.
    p = subprocess.run(["bash", "-lc", f"{ctx.args.python} -c \"{script}\""], env={"HOME": h, "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=120)
    ctx.outputs += [p.stdout, p.stderr]
    recs = cap.records()
    assert recs, f"the openai SDK sent nothing: {p.stderr[-500:]}"
    assert recs[0]["auth"]["fp"]["sha8"] == site["key"]["fp"]["sha8"], (recs[0]["auth"], site["key"])
    assert recs[0]["auth"]["header"] == site["auth"]["header"] == "authorization"


def openai_sdk_newline_key(ctx):
    h = ctx.home("openai-newline")
    write(f"{h}/proj/.env", f'OPENAI_API_KEY="{CANARY}\\n"\n')
    write(f"{h}/env", "PATH=/usr/bin\n")
    site = [x for x in keyhole_pipe(ctx, h, f"{h}/env") if x["tool"] == "dotenv"][0]
    assert "trailing_newline" in site["key"]["fp"]["flaws"], site["key"]
    cap = Capture(ctx, "--as", "openai", "--reply", "ok")
    script = ("import os; from dotenv import load_dotenv; load_dotenv('proj/.env'); from openai import OpenAI; "
              f"c = OpenAI(base_url='{cap.base}/v1', max_retries=0)\n"
              "try:\n c.models.list()\nexcept Exception as e: print(type(e).__name__, e)")
    p = subprocess.run([ctx.args.python, "-c", script], cwd=h, env={"HOME": h, "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=120)
    ctx.outputs += [p.stdout, p.stderr]
    recs = cap.records()
    assert not recs, f"a key with a newline must never reach the wire; got {recs}"
    assert "Connection error" in p.stdout, p.stdout + p.stderr


def litellm_sdk_contexts(ctx):
    """The key exported in ~/.profile: a login shell's script sends it; a plain `bash -c` (a non-login
    launch context, as keyhole-env predicts) has no key, and the LiteLLM SDK then sends no header at all."""
    h = ctx.home("litellm-sdk")
    write(f"{h}/.profile", f"export OPENROUTER_API_KEY={CANARY}\n")
    write(f"{h}/env", "PATH=/usr/bin\n")
    p = subprocess.run([ctx.args.env, "--home", h, "--env-file", f"{h}/env", "--proc-root", f"{h}/none", "-q", "OPENROUTER_API_KEY"],
                       capture_output=True, text=True, timeout=60)
    ctx.keyhole_outputs += [p.stdout, p.stderr]
    env = json.loads(p.stdout)["env"]
    fp = env["definitions"][0]["fp"]
    assert env["contexts"]["login"] is True and env["contexts"]["non_interactive"] is False, env["contexts"]
    results = {}
    for ctx_name, flag in (("login", "-lc"), ("non_interactive", "-c")):
        cap = Capture(ctx, "--as", "openrouter", "--reply", "ok", "--count", "1")
        script = ("import litellm; r = litellm.completion(model='openrouter/anthropic/claude-sonnet-4.5', "
                  f"api_base='{cap.base}/api/v1', messages=[{{'role':'user','content':'2+2'}}], num_retries=0)")
        q = subprocess.run(["bash", flag, f"{ctx.args.python} -c \"{script}\""], capture_output=True, text=True, timeout=180,
                           env={"HOME": h, "PATH": "/usr/bin:/bin", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        ctx.outputs += [q.stdout, q.stderr]
        recs = [r for r in cap.records() if r["path"].endswith("/chat/completions")]
        assert recs, f"litellm sent nothing in {ctx_name}: {q.stderr[-400:]}"
        results[ctx_name] = recs[0]["auth"]
    assert results["login"]["fp"]["sha8"] == fp["sha8"], results["login"]
    # Predicted by the catalogue (LiteLLM sends no header when the variable is unset), seen on the wire:
    assert results["non_interactive"] is None, results["non_interactive"]


def claude_code(ctx, var, header):
    h = ctx.home(f"claude-{var}")
    # OpenRouter's Anthropic skin, as OpenRouter's Claude Code guide sets it up.
    cap = Capture(ctx, "--as", "openrouter", "--reply", "ok")
    write(f"{h}/.claude/settings.json", json.dumps({"env": {"ANTHROPIC_BASE_URL": f"{cap.base}/api", var: CANARY}}))
    write(f"{h}/env", "PATH=/usr/bin\n")
    site = [x for x in keyhole_pipe(ctx, h, f"{h}/env") if x["tool"] == "claude-code"][0]
    assert site["auth"]["header"] == header, site
    work = os.path.join(h, "work")
    os.makedirs(work, exist_ok=True)
    p = subprocess.run([ctx.args.claude, "-p", "2+2"], cwd=work, env={"HOME": h, "PATH": os.environ["PATH"], "DISABLE_AUTOUPDATER": "1",
                       "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1"},
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]
    recs = [r for r in cap.records() if r["path"].endswith("/messages")]
    assert recs, f"claude sent no /v1/messages request: {p.stdout[-300:]} {p.stderr[-300:]}"
    auth = recs[0]["auth"]
    assert auth["header"] == header and auth["fp"]["sha8"] == site["key"]["fp"]["sha8"], (auth, site["key"])


def claude_code_auth_token(ctx):
    claude_code(ctx, "ANTHROPIC_AUTH_TOKEN", "authorization")


def claude_code_api_key(ctx):
    claude_code(ctx, "ANTHROPIC_API_KEY", "x-api-key")


def opencode(ctx, key_set):
    h = ctx.home(f"opencode-{key_set}")
    cap = Capture(ctx, "--as", "openrouter", "--reply", "ok")
    proj = os.path.join(h, "proj")
    write(f"{proj}/opencode.json", json.dumps({
        "$schema": "https://opencode.ai/config.json",
        "model": "openrouter/anthropic/claude-sonnet-4.5",
        "provider": {"openrouter": {"options": {"baseURL": f"{cap.base}/api/v1", "apiKey": "{env:OPENROUTER_API_KEY}"}}},
    }))
    envf = f"{h}/env"
    write(envf, f"OPENROUTER_API_KEY={CANARY}\n" if key_set else "PATH=/usr/bin\n")
    site = [x for x in keyhole_pipe(ctx, h, envf) if x["tool"] == "opencode" and "/provider/" in x["id"]][0]
    env = {"HOME": h, "PATH": os.environ["PATH"], "OPENCODE_DISABLE_AUTOUPDATE": "1"}
    if key_set:
        env["OPENROUTER_API_KEY"] = CANARY
    p = subprocess.run([ctx.args.opencode, "run", "2+2"], cwd=proj, env=env, capture_output=True, text=True, timeout=180,
                       stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]
    recs = [r for r in cap.records() if r["path"].endswith("/chat/completions")]
    assert recs, f"opencode sent no chat request: {p.stdout[-300:]} {p.stderr[-300:]}"
    auth = recs[0]["auth"]
    if key_set:
        assert site["env"]["effective"]["fp"]["sha8"] == auth["fp"]["sha8"], (site["env"]["effective"], auth)
    else:
        # Predicted: {env:X} of an unset variable becomes "" (the catalogue's unset rule) → an empty Bearer.
        assert site["env"]["effective"] is None
        assert auth["fp"]["len"] == 0, auth


def opencode_key_set(ctx):
    opencode(ctx, True)


def opencode_key_unset(ctx):
    opencode(ctx, False)


def litellm_chain(ctx):
    """client → capture A → LiteLLM proxy → capture B → (answers like OpenRouter): which hop drops the key?"""
    h = ctx.home("litellm-chain")
    b = Capture(ctx, "--as", "openrouter", "--reply", "ok")
    write(f"{h}/proxy/config.yaml", "model_list:\n  - model_name: sonnet\n    litellm_params:\n"
          f"      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: os.environ/OPENROUTER_API_KEY\n"
          f"      api_base: {b.base}/api/v1\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n")
    # The proxy's environment, as keyhole-env would read it from /proc: no OPENROUTER_API_KEY.
    write(f"{h}/proxy.env", "LITELLM_MASTER_KEY=sk-keyhole-master\nPATH=/usr/bin\n")
    site = [x for x in keyhole_pipe(ctx, h, f"{h}/proxy.env", f"{h}/proxy/config.yaml") if x["id"].endswith("/model_list/0")][0]
    assert site["env"]["effective"] is None, site["env"]["effective"]

    def via_a(port):
        a = Capture(ctx, "--as", "litellm", "--forward", f"http://127.0.0.1:{port}", "--count", "1")
        req = urllib.request.Request(f"{a.base}/chat/completions", method="POST",
                                     data=json.dumps({"model": "sonnet", "messages": [{"role": "user", "content": "2+2"}]}).encode(),
                                     headers={"Authorization": "Bearer sk-keyhole-master", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=60).read()
        except urllib.error.HTTPError:
            pass
        return a.records()

    a_recs = with_proxy(ctx, h, {}, via_a)
    b_recs = [r for r in b.records() if r["path"].endswith("/chat/completions")]
    assert a_recs and a_recs[0]["auth"]["header"] == "authorization", a_recs
    assert b_recs, "the proxy never reached capture B"
    # keyhole's prediction (the variable is unset for the proxy → LiteLLM sends no header) is what B saw.
    assert b_recs[0]["auth"] is None, b_recs[0]["auth"]
    assert b_recs[0]["diagnoses"][0]["code"] == "auth.missing"


SCENARIOS = [
    ("continue: ${env:X} is sent literally", continue_env_placeholder, "cn"),
    ("continue: ${{ secrets.X }} from ~/.continue/.env", continue_secrets_from_dotenv, "cn"),
    ("continue: process env beats ~/.continue/.env (CLI)", continue_process_env_beats_dotenv, "cn"),
    ("continue: no apiKey sends an empty Bearer", continue_no_api_key, "cn"),
    ("continue: a trailing space is trimmed on the wire", continue_trailing_space, "cn"),
    ("litellm proxy: os.environ/X, ${X}, implicit, and unset", litellm_proxy, "litellm"),
    ("openai SDK: the key of ~/.profile, through a login shell, via keyhole-capture", openai_sdk_key_from_profile, "python"),
    ("openai SDK: a key with a newline never reaches the wire", openai_sdk_newline_key, "python"),
    ("litellm SDK: the key in a login shell, and no header at all where keyhole-env says it is unset", litellm_sdk_contexts, "python"),
    ("claude code: ANTHROPIC_AUTH_TOKEN → Authorization: Bearer", claude_code_auth_token, "claude"),
    ("claude code: ANTHROPIC_API_KEY → x-api-key", claude_code_api_key, "claude"),
    ("opencode: {env:X} set → Bearer value", opencode_key_set, "opencode"),
    ("opencode: {env:X} unset → empty Bearer", opencode_key_unset, "opencode"),
    ("litellm chain: client → capture → proxy → capture: the proxy hop drops the key", litellm_chain, "litellm"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cn")
    ap.add_argument("--litellm")
    ap.add_argument("--find", required=True)
    ap.add_argument("--env")
    ap.add_argument("--capture")
    ap.add_argument("--python")
    ap.add_argument("--claude")
    ap.add_argument("--opencode")
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
