"""Codex CLI (`codex exec`) against the loopback capture: env_key unset and set, auth.json against
OPENAI_API_KEY, CODEX_API_KEY; Aider (`aider --message`) with a bare model name and openai-api-base,
unless KEYHOLE_CONFORMANCE_AIDER=0 (a large install: docs/wire.md#measured-clients). Crush cannot be
installed from the registry alone (docs/wire.md#measured-clients). Run by run.py, whose helpers these
scenarios use."""

import json
import os
import subprocess


def _h():
    import __main__ as r  # run.py: Capture, keyhole_pipe, write, env_file, sha8, canaries
    return r


def _codex(ctx, home, env_extra):
    """`codex exec` in `home/proj`, no retries; its stdout+stderr."""
    env = {"HOME": home, "PATH": os.environ["PATH"], **env_extra}
    p = subprocess.run([ctx.args.codex, "exec", "--skip-git-repo-check", "say ok"], cwd=f"{home}/proj", env=env,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]
    return p.stdout + p.stderr


def _lab_home(ctx, name, base):
    r = _h()
    h = ctx.home(f"codex-{name}")
    os.makedirs(f"{h}/proj", exist_ok=True)
    r.write(f"{h}/.codex/config.toml",
            'model = "m1"\nmodel_provider = "lab"\n\n[model_providers.lab]\nname = "Lab"\n'
            f'base_url = "{base}/v1"\nenv_key = "LAB_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n')
    return h


def codex_env_key_unset(ctx):
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok")
    h = _lab_home(ctx, "envkey-unset", cap.base)
    out = _codex(ctx, h, {})
    recs = cap.records()
    assert not recs, f"codex sent a request with env_key unset: {recs}"
    assert "Missing environment variable: `LAB_API_KEY`" in out, out[-400:]
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"]})
    site = [x for x in r.keyhole_pipe(ctx, h, envp) if x["tool"] == "codex" and x["id"].endswith("/lab")][0]
    ctx.expect("codex: env_key unset → no request (Missing environment variable)", site, None, {})
    assert "Missing environment variable: `LAB_API_KEY`" in site["key"]["note"], site["key"]


def codex_env_key_set(ctx):
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok")
    h = _lab_home(ctx, "envkey-set", cap.base)
    _codex(ctx, h, {"LAB_API_KEY": r.CANARY})
    recs = cap.records()
    assert recs, "codex sent nothing"
    assert recs[0]["path"] == "/v1/responses", recs[0]["path"]
    sent = recs[0]["auth"]["fp"]["sha8"]
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], "LAB_API_KEY": r.CANARY})
    site = [x for x in r.keyhole_pipe(ctx, h, envp) if x["tool"] == "codex" and x["id"].endswith("/lab")][0]
    ctx.expect("codex: env_key's variable is sent as Bearer to {base}/responses", site, sent,
               {r.sha8(r.CANARY): "LAB_API_KEY's value"})


def _openai_home(ctx, name, base, auth_key):
    r = _h()
    h = ctx.home(f"codex-{name}")
    os.makedirs(f"{h}/proj", exist_ok=True)
    # The built-in provider's auth (requires_openai_auth) at the capture, without retries.
    r.write(f"{h}/.codex/config.toml",
            'model = "gpt-5"\nmodel_provider = "oa"\n\n[model_providers.oa]\nname = "OpenAI here"\n'
            f'base_url = "{base}/v1"\nrequires_openai_auth = true\nrequest_max_retries = 0\nstream_max_retries = 0\n')
    if auth_key is not None:
        r.write(f"{h}/.codex/auth.json", json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": auth_key}))
    return h


def codex_auth_json_beats_openai_api_key(ctx):
    r = _h()
    cap = r.Capture(ctx, "--as", "openai")
    h = _openai_home(ctx, "auth-vs-env", cap.base, r.CANARY)
    _codex(ctx, h, {"OPENAI_API_KEY": r.CANARY2})
    recs = cap.records()
    assert recs, "codex sent nothing"
    sent = recs[0]["auth"]["fp"]["sha8"]
    names = {r.sha8(r.CANARY): "auth.json's key", r.sha8(r.CANARY2): "OPENAI_API_KEY's value"}
    assert sent == r.sha8(r.CANARY), f"sent {names.get(sent, sent)}"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], "OPENAI_API_KEY": r.CANARY2})
    site = [x for x in r.keyhole_pipe(ctx, h, envp) if x["tool"] == "codex" and "auth.json" in x["id"]][0]
    ctx.expect("codex: auth.json's key beats OPENAI_API_KEY", site, sent, names)


def codex_openai_api_key_alone_is_not_sent(ctx):
    r = _h()
    cap = r.Capture(ctx, "--as", "openai")
    h = _openai_home(ctx, "env-only", cap.base, None)
    _codex(ctx, h, {"OPENAI_API_KEY": r.CANARY2})
    recs = cap.records()
    assert recs, "codex sent nothing"
    assert recs[0]["auth"] is None or not recs[0]["auth"].get("fp"), f"codex sent a key: {recs[0]['auth']}"


def codex_codex_api_key_beats_auth_json(ctx):
    r = _h()
    cap = r.Capture(ctx, "--as", "openai")
    h = _openai_home(ctx, "codex-api-key", cap.base, r.CANARY)
    _codex(ctx, h, {"CODEX_API_KEY": r.CANARY2})
    recs = cap.records()
    assert recs, "codex sent nothing"
    assert recs[0]["auth"]["fp"]["sha8"] == r.sha8(r.CANARY2), "codex exec sent auth.json's key, not CODEX_API_KEY"


def _aider(ctx, home, env_extra):
    env = {"HOME": home, "PATH": os.environ["PATH"], "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env_extra}
    p = subprocess.run([ctx.args.aider, "--message", "say ok", "--yes-always", "--no-git", "--no-check-update",
                        "--no-show-model-warnings", "--analytics-disable", "--no-stream"], cwd=f"{home}/proj",
                       env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]


def aider_bare_model_at_openai_api_base(ctx):
    """`model: gpt-4o-mini` (no provider prefix) with openai-api-base: OPENAI_API_KEY goes to that base,
    the project's .env beating the environment."""
    r = _h()
    cap = r.Capture(ctx, "--as", "openai")
    h = ctx.home("aider-bare")
    r.write(f"{h}/proj/.aider.conf.yml", f"model: gpt-4o-mini\nopenai-api-base: {cap.base}/v1\n")
    r.write(f"{h}/proj/.env", f"OPENAI_API_KEY={r.CANARY}\n")
    _aider(ctx, h, {"OPENAI_API_KEY": r.CANARY2})
    recs = cap.records()
    assert recs, "aider sent nothing"
    assert recs[0]["path"] == "/v1/chat/completions", recs[0]["path"]
    sent = recs[0]["auth"]["fp"]["sha8"]
    names = {r.sha8(r.CANARY): "the project .env's key", r.sha8(r.CANARY2): "the environment's key"}
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], "OPENAI_API_KEY": r.CANARY2})
    sites = r.keyhole_pipe(ctx, h, envp, f"{h}/proj")
    site = [x for x in sites if x["tool"] == "aider" and x["id"].endswith("#/model")][0]
    assert site["base_url"] == f"{cap.base}/v1", site["base_url"]
    ctx.expect("aider: a bare model name goes to openai-api-base with the .env's OPENAI_API_KEY", site, sent, names)


AIDER = [
    ("aider: bare gpt-4o-mini at openai-api-base, .env beats the environment", aider_bare_model_at_openai_api_base,
     "aider"),
]

SCENARIOS = [
    ("codex: env_key unset → Missing environment variable, no request", codex_env_key_unset, "codex"),
    ("codex: env_key set → Bearer to {base}/responses", codex_env_key_set, "codex"),
    ("codex: auth.json's key beats OPENAI_API_KEY", codex_auth_json_beats_openai_api_key, "codex"),
    ("codex: OPENAI_API_KEY alone (no auth.json) is not sent", codex_openai_api_key_alone_is_not_sent, "codex"),
    ("codex exec: CODEX_API_KEY beats auth.json", codex_codex_api_key_beats_auth_json, "codex"),
]

if os.environ.get("KEYHOLE_CONFORMANCE_AIDER") == "1":
    SCENARIOS += AIDER
