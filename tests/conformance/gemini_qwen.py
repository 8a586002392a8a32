"""Gemini CLI (`gemini -p`) and Qwen Code (`qwen -p`) against the loopback capture: which .env and
which variable each sends, and where GOOGLE_GENAI_USE_VERTEXAI sends Gemini CLI
(docs/wire.md#gemini-cli-and-qwen-code). Run by run.py, whose helpers these scenarios use; the
clients are found in the conformance cache (run.sh installs them)."""

import os
import subprocess

_BIN = os.path.join(os.environ.get("KEYHOLE_CONFORMANCE_CACHE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "conformance"), "npm", "node_modules", ".bin")

G_HOME = "AIza" + "c" * 31 + "GH01"     # canaries of a Gemini key's shape
G_PROJ = "AIza" + "c" * 31 + "GP02"
G_ENV = "AIza" + "c" * 31 + "GE03"
G_GOOGLE = "AIza" + "c" * 31 + "GG04"
Q_ENV = "sk-" + "c" * 30 + "e1"           # canaries of a DashScope key's shape
Q_PROJ = "sk-" + "c" * 30 + "p2"
Q_BLOCK = "sk-" + "c" * 30 + "b3"


def _h():
    import __main__ as r  # run.py: Capture, keyhole_pipe, write, env_file, sha8
    return r


def _run(ctx, exe, home, cwd, env_extra):
    """`exe -p "2+2"` in `cwd`, HOME=`home`, a clean environment; its stdout+stderr."""
    env = {"HOME": home, "PATH": os.environ["PATH"], **env_extra}
    p = subprocess.run([os.path.join(_BIN, exe), "-p", "2+2"], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=90, stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]
    return p.stdout + p.stderr


def _sent(recs):
    auth = (recs[0].get("auth") or {}) if recs else {}
    return (auth.get("fp") or {}).get("sha8"), auth.get("header")


def _gemini_home(ctx, name, proj_env):
    r = _h()
    h = ctx.home(f"gemini-{name}")
    r.write(f"{h}/.gemini/.env", f"GEMINI_API_KEY={G_HOME}\n")
    r.write(f"{h}/proj/.env", proj_env)
    return h


def _gemini_case(ctx, name, env_extra, sends, label):
    r = _h()
    cap = r.Capture(ctx, "--as", "gemini", "--count", "4", "--duration", "60")
    h = _gemini_home(ctx, name, f"# the app's own settings\nGEMINI_API_KEY={G_PROJ}\n")
    r.write(f"{h}/proj/.gemini/settings.json", '{"security": {"auth": {"selectedType": "gemini-api-key"}}}\n')
    env = {"GEMINI_CLI_TRUST_WORKSPACE": "true", "GOOGLE_GEMINI_BASE_URL": cap.base, **env_extra}
    _run(ctx, "gemini", h, f"{h}/proj", env)
    sent, header = _sent(cap.records())
    assert header == "x-goog-api-key", f"gemini sent {header}"
    assert sent == r.sha8(sends), f"gemini sent sha8 {sent}, not the expected key"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = [x for x in r.keyhole_pipe(ctx, h, envp) if x["tool"] == "gemini-cli"
            and x["source"]["file"].endswith("proj/.gemini/settings.json")][0]
    names = {r.sha8(G_HOME): "~/.gemini/.env's key", r.sha8(G_PROJ): "the project .env's key",
             r.sha8(G_ENV): "the exported key", r.sha8(G_GOOGLE): "GOOGLE_API_KEY"}
    ctx.expect(label, site, sent, names)


def gemini_project_env_beats_home_env(ctx):
    _gemini_case(ctx, "project-env", {}, G_PROJ, "gemini-cli: the project .env is loaded, not ~/.gemini/.env")


def gemini_exported_key_beats_project_env(ctx):
    _gemini_case(ctx, "exported", {"GEMINI_API_KEY": G_ENV}, G_ENV,
                 "gemini-cli: an exported GEMINI_API_KEY beats the project .env")


def gemini_gemini_api_key_beats_google_api_key(ctx):
    # gemini-cli#7557: the SDK prints "Both GOOGLE_API_KEY and GEMINI_API_KEY are set. Using
    # GOOGLE_API_KEY.", but the CLI hands it GEMINI_API_KEY, which is what is sent.
    _gemini_case(ctx, "both-keys", {"GEMINI_API_KEY": G_ENV, "GOOGLE_API_KEY": G_GOOGLE}, G_ENV,
                 "gemini-cli: GEMINI_API_KEY is sent when GOOGLE_API_KEY is set too (gemini-cli#7557)")


def _vertex(ctx, value):
    r = _h()
    cap = r.Capture(ctx, "--as", "gemini", "--count", "4", "--duration", "60")
    h = _gemini_home(ctx, f"vertex-{value}", f"GOOGLE_GENAI_USE_VERTEXAI={value}\nGOOGLE_CLOUD_PROJECT=my-proj\n"
                     f"GOOGLE_CLOUD_LOCATION=us-central1\nGOOGLE_API_KEY={G_PROJ}\n")
    env = {"GEMINI_CLI_TRUST_WORKSPACE": "true", "GOOGLE_VERTEX_BASE_URL": cap.base}
    out = _run(ctx, "gemini", h, f"{h}/proj", env)
    recs = cap.records()
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    sites = [x for x in r.keyhole_pipe(ctx, h, envp) if x["provider"] == "vertex-ai"]
    return recs, out, sites


def gemini_vertex_true_goes_to_vertex(ctx):
    r = _h()
    recs, _, sites = _vertex(ctx, "true")
    assert recs, "gemini sent nothing"
    assert recs[0]["path"].startswith("/v1beta1/publishers/google/models/"), recs[0]["path"]
    sent, header = _sent(recs)
    assert (sent, header) == (r.sha8(G_PROJ), "x-goog-api-key"), (sent, header)
    assert sites, "keyhole-find made no Vertex AI site of the project .env"
    ctx.expect("gemini-cli: GOOGLE_GENAI_USE_VERTEXAI=true in the project .env → GOOGLE_API_KEY to Vertex AI",
               sites[0], sent, {r.sha8(G_PROJ): "the project .env's GOOGLE_API_KEY"})


def gemini_vertex_upper_true_is_not_read(ctx):
    recs, out, sites = _vertex(ctx, "TRUE")
    assert not recs, f"gemini went somewhere with TRUE: {recs[0]['path']}"
    assert "Please set an Auth method" in out, out[-300:]
    assert not sites, "keyhole-find made a Vertex AI site of TRUE"


def _qwen_home(ctx, name, base):
    r = _h()
    h = ctx.home(f"qwen-{name}")
    r.write(f"{h}/proj/.env", f"# the bot's own settings\nOPENAI_API_KEY={Q_PROJ}\n")
    r.write(f"{h}/proj/.qwen/settings.json",
            '{"modelProviders": {"openai": [{"id": "qwen3-coder-plus", "envKey": "OPENAI_API_KEY", '
            f'"baseUrl": "{base}/v1"}}]}}, "security": {{"auth": {{"selectedType": "openai"}}}}, '
            '"model": {"name": "qwen3-coder-plus"}}\n')
    return h


def _qwen_case(ctx, name, env_extra, block, sends, label):
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok", "--count", "4", "--duration", "60")
    h = _qwen_home(ctx, name, cap.base)
    if block:
        r.write(f"{h}/.qwen/settings.json", f'{{"env": {{"OPENAI_API_KEY": "{Q_BLOCK}"}}}}\n')
    env = {"OPENAI_BASE_URL": f"{cap.base}/v1", "OPENAI_MODEL": "qwen3-coder-plus", **env_extra}
    _run(ctx, "qwen", h, f"{h}/proj", env)
    sent, header = _sent(cap.records())
    assert header == "authorization", f"qwen sent {header}"
    assert sent == r.sha8(sends), f"qwen sent sha8 {sent}, not the expected key"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = [x for x in r.keyhole_pipe(ctx, h, envp) if x["tool"] == "qwen-code"
            and x["source"]["file"].endswith("proj/.qwen/settings.json")][0]
    names = {r.sha8(Q_ENV): "the exported key", r.sha8(Q_PROJ): "the project .env's key",
             r.sha8(Q_BLOCK): "settings.json's env block"}
    ctx.expect(label, site, sent, names)


def qwen_exported_key_beats_project_env(ctx):
    _qwen_case(ctx, "exported", {"OPENAI_API_KEY": Q_ENV}, False, Q_ENV,
               "qwen-code: an exported OPENAI_API_KEY beats the project .env (qwen-code#119)")


def qwen_project_env_beats_settings_env_block(ctx):
    _qwen_case(ctx, "env-block", {}, True, Q_PROJ, QWEN_BLOCK_LABEL)


QWEN_BLOCK_LABEL = "qwen-code: the project .env beats settings.json's env block"
PENDING: set = set()

SCENARIOS = [
    ("gemini-cli: the project .env is loaded, not ~/.gemini/.env (gemini-cli#28107)",
     gemini_project_env_beats_home_env, "gemini"),
    ("gemini-cli: an exported GEMINI_API_KEY beats the project .env", gemini_exported_key_beats_project_env, "gemini"),
    ("gemini-cli: GEMINI_API_KEY is sent when GOOGLE_API_KEY is set too", gemini_gemini_api_key_beats_google_api_key,
     "gemini"),
    ("gemini-cli: GOOGLE_GENAI_USE_VERTEXAI=true in a project .env → Vertex AI", gemini_vertex_true_goes_to_vertex,
     "gemini"),
    ("gemini-cli: GOOGLE_GENAI_USE_VERTEXAI=TRUE is not read", gemini_vertex_upper_true_is_not_read, "gemini"),
    ("qwen-code: an exported OPENAI_API_KEY beats the project .env", qwen_exported_key_beats_project_env, "qwen"),
    ("qwen-code: the project .env beats settings.json's env block", qwen_project_env_beats_settings_env_block, "qwen"),
]
