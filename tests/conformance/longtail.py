"""The long tail's offline clients against the loopback capture: llm (PyPI, with llm-openrouter), the Cline CLI
(`cline`, npm) and the Kilo CLI (`@kilocode/cli`, npm). Each scenario proves one catalogue claim (which file or
variable, which header, which URL) and compares keyhole's prediction from the same home
(docs/wire.md#measured-clients). Run by run.py, whose helpers these scenarios use; the clients are found in the
conformance cache (run.sh installs them)."""

import itertools
import json
import os
import subprocess

_CACHE = os.environ.get("KEYHOLE_CONFORMANCE_CACHE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "conformance")
_NPM = os.path.join(_CACHE, "npm", "node_modules", ".bin")
_LLM = os.path.join(_CACHE, "llm-venv", "bin", "llm")

O_KEYS = "sk-proj-" + "c" * 40 + "LK01"     # canaries of an OpenAI key's shape
O_ENV = "sk-proj-" + "c" * 40 + "LE02"


def _h():
    import __main__ as r  # run.py: Capture, keyhole_pipe, write, env_file, sha8, CANARY, CANARY2
    return r


def _exe(path):
    assert os.path.exists(path), f"{path} is not installed (tests/conformance/run.sh installs it)"
    return path


def _clean_env(home, extra):
    return {"HOME": home, "PATH": os.environ["PATH"], "LANG": "C.UTF-8", **extra}


def _noise(home):
    """What every home here also holds: Debian's .bashrc with its interactive guard, a template .env, and a
    second tool configured correctly (a Continue model that reads its key from the environment)."""
    r = _h()
    r.write(f"{home}/.bashrc", "# ~/.bashrc\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\nHISTCONTROL=ignoreboth\n")
    r.write(f"{home}/notes/.env.example", "OPENROUTER_API_KEY=your-api-key-here\n")
    r.write(f"{home}/.continue/config.yaml", "name: local\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: m\n"
            "    provider: openrouter\n    model: anthropic/claude-sonnet-4.5\n"
            "    apiKey: ${{ secrets.OPENROUTER_API_KEY }}\n")


def _site(sites, tool, frag):
    got = [x for x in sites if x.get("tool") == tool and x["id"].endswith(frag)]
    assert got, f"keyhole-find has no {tool} site *{frag}: {[x.get('id') for x in sites]}"
    return got[0]


# ---------- llm ----------

def _llm(ctx, home, args, env_extra, timeout=90):
    p = subprocess.run([_exe(_LLM), *args], cwd=home, env=_clean_env(home, env_extra), capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]
    return p


def _llm_home(ctx, name):
    h = ctx.home(f"llm-{name}")
    _noise(h)
    os.makedirs(f"{h}/.config/io.datasette.llm", exist_ok=True)
    return h


def _llm_keys_set(ctx, home, alias, value):
    """`llm keys set ALIAS --value V`: keys.json as llm itself writes it."""
    p = _llm(ctx, home, ["keys", "set", alias, "--value", value], {})
    assert p.returncode == 0, p.stderr[-300:]


def _llm_sent(cap):
    recs = [x for x in cap.records() if x["path"].endswith("/chat/completions")]
    assert recs, "llm sent no chat request"
    assert recs[0]["path"] == "/v1/chat/completions", recs[0]["path"]
    return recs[0]["auth"]


def llm_extra_model_sends_its_keys_json_alias(ctx):
    """extra-openai-models.yaml: api_base and api_key_name; the alias's key from keys.json goes as Bearer to
    {api_base}/chat/completions, OPENAI_API_KEY notwithstanding."""
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok")
    h = _llm_home(ctx, "extra-alias")
    r.write(f"{h}/.config/io.datasette.llm/extra-openai-models.yaml",
            f"- model_id: capture-model\n  model_name: gpt-4o-mini\n  api_base: \"{cap.base}/v1\"\n"
            "  api_key_name: capture\n")
    _llm_keys_set(ctx, h, "capture", O_KEYS)
    env = {"OPENAI_API_KEY": O_ENV}
    _llm(ctx, h, ["-m", "capture-model", "2+2"], env)
    auth = _llm_sent(cap)
    assert auth["header"] == "authorization" and auth["scheme"] == "bearer", auth
    sent = auth["fp"]["sha8"]
    names = {r.sha8(O_KEYS): "keys.json's capture key", r.sha8(O_ENV): "OPENAI_API_KEY"}
    assert sent == r.sha8(O_KEYS), f"llm sent {names.get(sent, sent)}"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = _site(r.keyhole_pipe(ctx, h, envp), "llm", "extra-openai-models.yaml#/0")
    assert site["base_url"] == f"{cap.base}/v1", site["base_url"]
    ctx.expect("llm: an extra model's api_key_name sends that keys.json alias's key", site, sent, names)


def llm_keys_json_beats_openai_api_key(ctx):
    """`llm keys set openai`: keys.json's key beats OPENAI_API_KEY for the default OpenAI models
    (OPENAI_BASE_URL, read by the openai SDK, points them at the capture)."""
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok")
    h = _llm_home(ctx, "keys-vs-env")
    _llm_keys_set(ctx, h, "openai", O_KEYS)
    env = {"OPENAI_API_KEY": O_ENV, "OPENAI_BASE_URL": f"{cap.base}/v1"}
    _llm(ctx, h, ["-m", "gpt-4o-mini", "2+2"], env)
    sent = _llm_sent(cap)["fp"]["sha8"]
    names = {r.sha8(O_KEYS): "keys.json's openai key", r.sha8(O_ENV): "OPENAI_API_KEY"}
    assert sent == r.sha8(O_KEYS), f"llm sent {names.get(sent, sent)}"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = _site(r.keyhole_pipe(ctx, h, envp), "llm", "keys.json#/openai")
    ctx.expect("llm: keys.json's openai key beats OPENAI_API_KEY", site, sent, names)


def llm_api_base_without_key_name_sends_dummy_key(ctx):
    """An extra model with api_base and no api_key_name sends the text DUMMY_KEY, not OPENAI_API_KEY."""
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok")
    h = _llm_home(ctx, "dummy")
    r.write(f"{h}/.config/io.datasette.llm/extra-openai-models.yaml",
            f"- model_id: local\n  model_name: gpt-4o-mini\n  api_base: \"{cap.base}/v1\"\n")
    env = {"OPENAI_API_KEY": O_ENV}
    _llm(ctx, h, ["-m", "local", "2+2"], env)
    auth = _llm_sent(cap)
    text = auth.get("placeholder") or ""
    assert text == "DUMMY_KEY" or (auth.get("fp") or {}).get("sha8") == r.sha8("DUMMY_KEY"), auth
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = _site(r.keyhole_pipe(ctx, h, envp), "llm", "extra-openai-models.yaml#/0")
    assert "DUMMY_KEY" in (site["key"].get("note") or ""), site["key"]


def llm_openrouter_plugin_reads_openrouter_key(ctx):
    """llm-openrouter registers its models only when it finds its key: in keys.json (`openrouter`) or in
    OPENROUTER_KEY; OPENROUTER_API_KEY is not read. (Its base URL is fixed to https://openrouter.ai/api/v1, so
    what it sends cannot be captured on loopback; the model list comes from its cache file.)"""
    r = _h()
    h = _llm_home(ctx, "openrouter")
    models = {"data": [{"id": "anthropic/claude-sonnet-4.5", "name": "Claude Sonnet 4.5", "context_length": 200000,
                        "architecture": {"input_modalities": ["text"]}, "supported_parameters": ["tools"],
                        "pricing": {"prompt": "0.000003", "completion": "0.000015"}}]}
    r.write(f"{h}/.config/io.datasette.llm/openrouter_models.json", json.dumps(models))

    def listed(env):
        p = _llm(ctx, h, ["models", "list"], env)
        return "openrouter/anthropic/claude-sonnet-4.5" in p.stdout

    assert not listed({"OPENROUTER_API_KEY": r.CANARY}), "llm-openrouter read OPENROUTER_API_KEY"
    assert listed({"OPENROUTER_KEY": r.CANARY}), "llm-openrouter did not read OPENROUTER_KEY"
    _llm_keys_set(ctx, h, "openrouter", r.CANARY2)
    assert listed({}), "llm-openrouter did not read keys.json's openrouter key"
    # The catalogue says the same: OPENROUTER_KEY, not OPENROUTER_API_KEY; keys.json's alias is a site.
    out = subprocess.run([ctx.args.find, "--list-tools"], capture_output=True, text=True, timeout=30).stdout
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.split()[:1] == ["llm"])
    block = [lines[start]] + [l for l in itertools.takewhile(lambda l: l.startswith(" "), lines[start + 1:])]
    reads = [l for l in block if "reads:" in l]
    assert reads and "OPENROUTER_KEY" in reads[0] and "OPENROUTER_API_KEY" not in reads[0], reads
    site = _site(ctx.find(h), "llm", "keys.json#/openrouter")
    assert site["provider"] == "openrouter" and site["key"]["fp"]["sha8"] == r.sha8(r.CANARY2), site


# ---------- Cline CLI ----------

def _cline(ctx, home, args, env_extra, timeout=120):
    work = os.path.join(home, "work")
    os.makedirs(work, exist_ok=True)
    p = subprocess.run([_exe(os.path.join(_NPM, "cline")), *args], cwd=work, env=_clean_env(home, env_extra),
                       capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]
    return p


def _cline_sent(cap):
    recs = [x for x in cap.records() if x["path"].endswith("/chat/completions")]
    assert recs, "cline sent no chat request"
    assert recs[0]["path"] == "/v1/chat/completions", recs[0]["path"]
    return recs[0]["auth"]


def _cline_names(r):
    return {r.sha8(r.CANARY): "providers.json's apiKey", r.sha8(r.CANARY2): "OPENAI_API_KEY",
            r.sha8(O_ENV): "OPENROUTER_API_KEY"}


def cline_auth_key_goes_to_the_base_url(ctx):
    """`cline auth openai -k KEY -b BASE` writes ~/.cline/data/settings/providers.json; the run sends that key as
    Bearer to {BASE}/chat/completions, OPENAI_API_KEY notwithstanding."""
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok")
    h = ctx.home("cline-auth")
    _noise(h)
    p = _cline(ctx, h, ["auth", "openai", "-k", r.CANARY, "-m", "gpt-4o-mini", "-b", f"{cap.base}/v1"], {})
    assert p.returncode == 0 and os.path.exists(f"{h}/.cline/data/settings/providers.json"), p.stdout[-300:]
    env = {"OPENAI_API_KEY": r.CANARY2}
    _cline(ctx, h, ["-t", "60", "--retries", "1", "say ok"], env)
    auth = _cline_sent(cap)
    assert auth["header"] == "authorization" and auth["scheme"] == "bearer", auth
    names = _cline_names(r)
    sent = auth["fp"]["sha8"]
    assert sent == r.sha8(r.CANARY), f"cline sent {names.get(sent, sent)}"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = _site(r.keyhole_pipe(ctx, h, envp), "cline", "providers.json#/providers/openai-compatible")
    assert site["base_url"] == f"{cap.base}/v1", site["base_url"]
    ctx.expect("cline: providers.json's apiKey (cline auth) is sent to its baseUrl", site, sent, names)


def cline_openai_compatible_without_key_reads_openai_api_key(ctx):
    """providers.json's openai-compatible entry without apiKey: the CLI sends OPENAI_API_KEY (not
    OPENROUTER_API_KEY)."""
    r = _h()
    cap = r.Capture(ctx, "--as", "openai", "--reply", "ok")
    h = ctx.home("cline-env")
    _noise(h)
    r.write(f"{h}/.cline/data/settings/providers.json", json.dumps({
        "version": 1, "lastUsedProvider": "openai-compatible", "modes": {},
        "providers": {"openai-compatible": {"settings": {"provider": "openai-compatible", "model": "gpt-4o-mini",
                                                          "baseUrl": f"{cap.base}/v1"},
                                            "updatedAt": "2026-11-30T09:00:00.000Z", "tokenSource": "manual"}}},
        indent=2) + "\n")
    env = {"OPENAI_API_KEY": r.CANARY2, "OPENROUTER_API_KEY": O_ENV}
    _cline(ctx, h, ["-t", "60", "--retries", "1", "say ok"], env)
    names = _cline_names(r)
    sent = _cline_sent(cap)["fp"]["sha8"]
    assert sent == r.sha8(r.CANARY2), f"cline sent {names.get(sent, sent)}"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = _site(r.keyhole_pipe(ctx, h, envp), "cline", "providers.json#/providers/openai-compatible")
    ctx.expect("cline: an openai-compatible provider without apiKey sends OPENAI_API_KEY", site, sent, names)


# ---------- Kilo CLI ----------

def _kilo_case(ctx, name, api_key, sends, label):
    """`kilo run` in a project whose kilo.json points openrouter at a capture; auth.json as `kilo auth login`
    writes it holds CANARY, the environment OPENROUTER_API_KEY=CANARY2; options.apiKey as given."""
    r = _h()
    cap = r.Capture(ctx, "--as", "openrouter", "--reply", "ok")
    h = ctx.home(f"kilo-{name}")
    _noise(h)
    proj = os.path.join(h, "proj")
    opts = {"baseURL": f"{cap.base}/api/v1"}
    if api_key is not None:
        opts["apiKey"] = api_key
    r.write(f"{proj}/kilo.json", json.dumps({"$schema": "https://app.kilo.ai/config.json",
                                             "model": "openrouter/anthropic/claude-sonnet-4.5",
                                             "provider": {"openrouter": {"options": opts}}}, indent=2) + "\n")
    r.write(f"{h}/.local/share/kilo/auth.json", json.dumps({"openrouter": {"type": "api", "key": r.CANARY}}, indent=2))
    os.chmod(f"{h}/.local/share/kilo/auth.json", 0o600)
    env = {"OPENROUTER_API_KEY": r.CANARY2}
    # Offline: no models.dev fetch to wait for, no update check, no default plugins to install.
    quiet = {"KILO_DISABLE_MODELS_FETCH": "1", "KILO_DISABLE_AUTOUPDATE": "1", "KILO_DISABLE_DEFAULT_PLUGINS": "1",
             "KILO_DISABLE_LSP_DOWNLOAD": "1", "KILO_DISABLE_SHARE": "1"}
    p = subprocess.run([_exe(os.path.join(_NPM, "kilo")), "run", "2+2"], cwd=proj, env=_clean_env(h, {**env, **quiet}),
                       capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    ctx.outputs += [p.stdout, p.stderr]
    recs = [x for x in cap.records() if x["path"].endswith("/chat/completions")]
    assert recs, f"kilo sent no chat request: {p.stdout[-300:]} {p.stderr[-300:]}"
    assert recs[0]["path"] == "/api/v1/chat/completions", recs[0]["path"]
    names = {r.sha8(r.CANARY): "auth.json's key", r.sha8(r.CANARY2): "the environment's key"}
    sent = recs[0]["auth"]["fp"]["sha8"]
    assert sent == r.sha8(sends), f"{label}: sent {names.get(sent, sent)}"
    envp = r.env_file(f"{h}/env", {"PATH": os.environ["PATH"], **env})
    site = _site(r.keyhole_pipe(ctx, h, envp, proj), "kilo", "#/provider/openrouter")
    ctx.expect(label, site, sent, names)


def kilo_auth_json_beats_env(ctx):
    r = _h()
    _kilo_case(ctx, "auth-vs-env", None, r.CANARY, "kilo: auth.json beats OPENROUTER_API_KEY when kilo.json has no apiKey")


SCENARIOS = [
    ("llm: an extra model's api_key_name sends its keys.json alias to api_base", llm_extra_model_sends_its_keys_json_alias, "llm"),
    ("llm: keys.json (llm keys set openai) beats OPENAI_API_KEY", llm_keys_json_beats_openai_api_key, "llm"),
    ("llm: api_base without api_key_name sends DUMMY_KEY", llm_api_base_without_key_name_sends_dummy_key, "llm"),
    ("llm: llm-openrouter reads keys.json and OPENROUTER_KEY, not OPENROUTER_API_KEY",
     llm_openrouter_plugin_reads_openrouter_key, "llm"),
    ("cline: cline auth's key goes to its base URL as Bearer", cline_auth_key_goes_to_the_base_url, "cline"),
    ("cline: openai-compatible without apiKey sends OPENAI_API_KEY", cline_openai_compatible_without_key_reads_openai_api_key,
     "cline"),
    ("kilo: auth.json beats OPENROUTER_API_KEY", kilo_auth_json_beats_env, "kilo"),
]
