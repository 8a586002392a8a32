"""keyhole fix --apply, proved with the real clients (docs/fix.md#apply): each scenario runs the client
against the loopback capture before the fix (the failure on the wire), runs `keyhole fix --apply --yes`
on the home, checks that only the planned file changed, and runs the client again: after the fix it
sends the key. Continue's ${env:X} placeholder, LiteLLM's ${X} (→ os.environ/X), an export below
Debian's interactive guard for a launch by `ssh host cmd`, and Claude Code's ANTHROPIC_AUTH_TOKEN
sent to an Anthropic API (→ ANTHROPIC_API_KEY). Run by run.py, whose helpers these scenarios use."""

import hashlib
import json
import os
import subprocess


def _h():
    import __main__ as r  # run.py: Capture, cn_home, run_cn, with_proxy, ask, upstream, write, sha8, canaries
    return r


def _keyhole(ctx):
    return os.path.join(os.path.dirname(ctx.args.find), "keyhole")


def _snapshot(home):
    out = {}
    for d, _, files in os.walk(home):
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p):
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, home)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _fix(ctx, home, *args, env=None):
    """`keyhole fix --apply --yes` on `home` (the analysed environment `env`, no process): its words.
    Only the planned files change, beside their backups and the manifest."""
    r = _h()
    envf = os.path.join(ctx.tmp, os.path.basename(home) + ".fix-env")
    r.write(envf, "".join(f"{k}={v}\n" for k, v in {"PATH": "/usr/bin:/bin", "SHELL": "/bin/bash", **(env or {})}.items()))
    before = _snapshot(home)
    p = subprocess.run([_keyhole(ctx), "fix", "--home", home, "--env-file", envf, "--proc-root", os.path.join(home, "noproc"),
                        "--apply", "--yes", "--timeout", "5", *args], capture_output=True, text=True, timeout=120,
                       env={"PATH": os.environ["PATH"], "HOME": home})
    ctx.keyhole_outputs += [p.stdout, p.stderr]
    after = _snapshot(home)
    changed = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
    changed = [f for f in changed if ".keyhole-bak" not in f and not f.endswith("last-fix.json")
               and not f.startswith("proxy.log") and not f.startswith("work/")]
    assert "backup:" in p.stdout, f"keyhole fix applied nothing (exit {p.returncode}): {p.stdout[-600:]} {p.stderr[-600:]}"
    return p.stdout, changed


def continue_placeholder_fix(ctx):
    r = _h()
    h, cap = r.cn_home(ctx, "fix-cn-placeholder", '    apiKey: "${env:OPENROUTER_API_KEY}"   # VS Code syntax\n')
    r.write(f"{h}/.continue/.env", f"OPENROUTER_API_KEY={r.CANARY}\n")
    sent = r.run_cn(ctx, h, {}, cap)
    assert sent["authorization"]["text"] == "${env:OPENROUTER_API_KEY}", sent
    words, changed = _fix(ctx, h, "--offline")
    assert changed == [".continue/config.yaml"], (changed, words)
    assert "key.placeholder → ok" in words, words
    cap = r.Capture(ctx, "--as", "openrouter")
    with open(f"{h}/.continue/config.yaml") as f:
        text = f.read()
    assert '    apiKey: "${{ secrets.OPENROUTER_API_KEY }}"   # VS Code syntax\n' in text, text
    r.write(f"{h}/.continue/config.yaml", text.replace(text.split("apiBase: ")[1].split("/api/v1/")[0], cap.base))
    sent = r.run_cn(ctx, h, {}, cap)
    assert sent["authorization"].get("sha8") == r.sha8(r.CANARY), sent


LITELLM_PLACEHOLDER = """model_list:
  - model_name: m-fix
    litellm_params:
      model: openrouter/anthropic/claude-sonnet-4.5
      api_key: "${{OPENROUTER_API_KEY}}"   # shell syntax: LiteLLM sends it as it is
      api_base: http://127.0.0.1:{port}/m-fix/api/v1
"""


def litellm_os_environ_fix(ctx):
    r = _h()
    h = ctx.home("fix-litellm")
    r.write(f"{h}/proxy/config.yaml", LITELLM_PLACEHOLDER.format(port=ctx.port))
    env = {"OPENROUTER_API_KEY": r.CANARY}

    def once(port):
        r.ask(port, "m-fix")
        return r.upstream(ctx, "m-fix")

    # Before the fix the proxy sends "${OPENROUTER_API_KEY}" as it is (measured by run.py's litellm_proxy,
    # m-placeholder): one proxy start is saved here.
    words, changed = _fix(ctx, h, f"{h}/proxy/config.yaml", "--offline", env=env)
    assert changed == ["proxy/config.yaml"], (changed, words)
    with open(f"{h}/proxy/config.yaml") as f:
        text = f.read()
    assert '      api_key: "os.environ/OPENROUTER_API_KEY"   # shell syntax' in text, text
    cap = r.with_proxy(ctx, h, env, once)
    assert cap["authorization"]["sha8"] == r.sha8(r.CANARY), cap


def debian_guard_fix(ctx):
    """An export below Debian's interactive guard; the OpenAI SDK launched by `ssh host cmd` (bash reads
    ~/.bashrc for sshd's commands, then the guard returns): no key before the fix, the key after."""
    r = _h()
    h = ctx.home("fix-guard")
    stock = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../fixtures/env/debian/.bashrc")).read()
    stock = "".join(l + "\n" for l in stock.splitlines() if "_KEY=" not in l)
    r.write(f"{h}/.bashrc", stock + f"\n# for the proxy\nexport OPENAI_API_KEY={r.CANARY}\n")
    r.write(f"{h}/.profile", 'if [ -n "$BASH_VERSION" ]; then . "$HOME/.bashrc"; fi\n')
    r.write(f"{h}/proxy/config.yaml", "model_list:\n  - model_name: m\n    litellm_params:\n"
            "      model: openai/gpt-5\n      api_key: os.environ/OPENAI_API_KEY\n")

    def over_ssh():
        cap = r.Capture(ctx, "--as", "openai", "--reply", "ok", "--count", "1")
        script = (f"from openai import OpenAI\ntry:\n OpenAI(base_url='{cap.base}/v1', max_retries=0).models.list()\n"
                  "except Exception as e: print(type(e).__name__)")
        # What sshd gives a command: SSH_CLIENT set, no SHLVL; bash then reads ~/.bashrc.
        q = subprocess.run(["bash", "-c", f"{ctx.args.python} -c \"{script}\""], capture_output=True, text=True,
                           timeout=120, env={"HOME": h, "PATH": "/usr/bin:/bin", "SSH_CLIENT": "127.0.0.1 50000 22"},
                           stdin=subprocess.DEVNULL)
        ctx.outputs += [q.stdout, q.stderr]
        recs = cap.records()
        if "OpenAIError" in q.stdout:  # the SDK refuses to start without a key: nothing sent
            assert not recs, recs
            return None
        assert recs, f"the openai SDK sent nothing: {q.stdout[-300:]} {q.stderr[-400:]}"
        return recs[0]["auth"]

    assert over_ssh() is None, "below the guard, the ssh command has no key"
    words, changed = _fix(ctx, h, f"{h}/proxy/config.yaml", "--offline")
    assert changed == [".bashrc"], (changed, words)
    sent = over_ssh()
    assert sent is not None and sent["fp"]["sha8"] == r.sha8(r.CANARY), sent
    # keyhole's own check after the fix: the site fixed (✓), as the wire shows for `ssh host cmd`.
    line = next((l for l in words.splitlines() if "key.after_guard →" in l), words)
    ctx.predictions.append((GUARD_CHECK, line.startswith("✓"), f"keyhole fix's check after the move: {line.strip()}"))


def claude_code_header_fix(ctx):
    """ANTHROPIC_AUTH_TOKEN holding an Anthropic API key: Claude Code sends it as Bearer, which the
    Anthropic API refuses; the fix moves it to ANTHROPIC_API_KEY, sent as x-api-key."""
    r = _h()
    h = ctx.home("fix-claude")
    key = "sk-ant-api03-" + "c" * 80 + "CF03"
    cap = r.Capture(ctx, "--as", "anthropic", "--reply", "ok")
    settings = {"model": "sonnet", "env": {"DISABLE_TELEMETRY": "1", "ANTHROPIC_BASE_URL": cap.base,
                                           "ANTHROPIC_AUTH_TOKEN": key}}
    r.write(f"{h}/.claude/settings.json", json.dumps(settings, indent=2) + "\n")

    def ask_claude(cap):
        work = os.path.join(h, "work")
        os.makedirs(work, exist_ok=True)
        p = subprocess.run([ctx.args.claude, "-p", "2+2"], cwd=work,
                           env={"HOME": h, "PATH": os.environ["PATH"], "DISABLE_AUTOUPDATER": "1",
                                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1"},
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        ctx.outputs += [p.stdout, p.stderr]
        recs = [x for x in cap.records() if x["path"].endswith("/messages")]
        assert recs, f"claude sent no /v1/messages request: {p.stdout[-300:]} {p.stderr[-300:]}"
        return recs[0]["auth"]

    sent = ask_claude(cap)
    assert sent["header"] == "authorization" and sent["fp"]["sha8"] == r.sha8(key), sent
    words, changed = _fix(ctx, h, "--offline")
    assert changed == [".claude/settings.json"], (changed, words)
    assert "header.wrong_scheme →" in words, words
    with open(f"{h}/.claude/settings.json") as f:
        text = f.read()
    assert '"ANTHROPIC_API_KEY"' in text and "ANTHROPIC_AUTH_TOKEN" not in text, text
    cap3 = r.Capture(ctx, "--as", "anthropic", "--reply", "ok")
    r.write(f"{h}/.claude/settings.json", text.replace(cap.base, cap3.base))
    sent = ask_claude(cap3)
    assert sent["header"] == "x-api-key" and sent["fp"]["sha8"] == r.sha8(key), sent


# keyhole's own check after the guard fix: the site is fixed for every new login shell and
# `ssh host cmd`; the environment it checked predates the fix (key.stale_process, `exec bash -l`).
GUARD_CHECK = "fix: after the guard fix, keyhole's check says the site is fixed"
PENDING: set = set()

SCENARIOS = [
    ("fix: continue ${env:X} → ${{ secrets.X }}, then cn sends the key", continue_placeholder_fix, "cn"),
    ("fix: litellm proxy ${X} → os.environ/X, then the upstream gets the key", litellm_os_environ_fix, "litellm"),
    ("fix: an export below Debian's guard moved above it, then `ssh host cmd` sends the key (OpenAI SDK)", debian_guard_fix, "python"),
    ("fix: claude code ANTHROPIC_AUTH_TOKEN → ANTHROPIC_API_KEY, then x-api-key is sent", claude_code_header_fix, "claude"),
]
