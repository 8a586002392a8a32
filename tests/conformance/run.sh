#!/usr/bin/env bash
# Install the real clients into a cache (once), then run the scenarios.
# Continue CLI from npm, LiteLLM (proxy) from PyPI; versions pinned to the
# ones docs/wire.md#measured-clients measured, so a change is seen, not guessed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${KEYHOLE_CONFORMANCE_CACHE:-$root/tests/.cache/conformance}
mkdir -p "$cache"
CN_VERSION=${CN_VERSION:-1.5.47}
LITELLM_VERSION=${LITELLM_VERSION:-1.106.2}
CLAUDE_VERSION=${CLAUDE_VERSION:-2.1.328}
OPENCODE_VERSION=${OPENCODE_VERSION:-1.18.33}
CODEX_VERSION=${CODEX_VERSION:-0.171.0}
AIDER_VERSION=${AIDER_VERSION:-0.86.2}

if [ ! -x "$cache/npm/node_modules/.bin/cn" ]; then
  echo "installing @continuedev/cli@$CN_VERSION"
  npm install --silent --no-audit --no-fund --prefix "$cache/npm" "@continuedev/cli@$CN_VERSION" >/dev/null 2>&1 \
    || npm install --silent --no-audit --no-fund --prefix "$cache/npm" @continuedev/cli >/dev/null
fi
for pkg in "@anthropic-ai/claude-code@$CLAUDE_VERSION:claude" "opencode-ai@$OPENCODE_VERSION:opencode" "@openai/codex@$CODEX_VERSION:codex"; do
  spec=${pkg%:*}; bin=${pkg##*:}
  if [ ! -x "$cache/npm/node_modules/.bin/$bin" ]; then
    echo "installing $spec"
    npm install --silent --no-audit --no-fund --prefix "$cache/npm" "$spec" >/dev/null 2>&1 \
      || npm install --silent --no-audit --no-fund --prefix "$cache/npm" "${spec%@*}" >/dev/null
  fi
done
# Gemini CLI and Qwen Code (tests/conformance/gemini_qwen.py finds them here).
GEMINI_VERSION=${GEMINI_VERSION:-0.61.0}
QWEN_VERSION=${QWEN_VERSION:-0.24.4}
for pkg in "@google/gemini-cli@$GEMINI_VERSION:gemini" "@qwen-code/qwen-code@$QWEN_VERSION:qwen"; do
  spec=${pkg%:*}; bin=${pkg##*:}
  if [ ! -x "$cache/npm/node_modules/.bin/$bin" ]; then
    echo "installing $spec"
    npm install --silent --no-audit --no-fund --prefix "$cache/npm" "$spec" >/dev/null 2>&1 \
      || npm install --silent --no-audit --no-fund --prefix "$cache/npm" "${spec%@*}" >/dev/null
  fi
done
# The long tail's offline CLIs (tests/conformance/longtail.py finds them here): the Cline CLI and the Kilo CLI
# from npm (Kilo 7.8.1 has no linux-x64 package on the registry, hence 7.7.7), llm with llm-openrouter from PyPI.
CLINE_VERSION=${CLINE_VERSION:-3.0.65}
KILO_VERSION=${KILO_VERSION:-7.7.7}
for pkg in "cline@$CLINE_VERSION:cline" "@kilocode/cli@$KILO_VERSION:kilo"; do
  spec=${pkg%:*}; bin=${pkg##*:}
  if [ ! -x "$cache/npm/node_modules/.bin/$bin" ]; then
    echo "installing $spec"
    npm install --silent --no-audit --no-fund --prefix "$cache/npm" "$spec" >/dev/null 2>&1 \
      || npm install --silent --no-audit --no-fund --prefix "$cache/npm" "${spec%@*}" >/dev/null \
      || echo "warning: $spec did not install; its scenarios will fail"
  fi
done
LLM_VERSION=${LLM_VERSION:-0.36}
LLM_OPENROUTER_VERSION=${LLM_OPENROUTER_VERSION:-0.7.1}
if [ ! -x "$cache/llm-venv/bin/llm" ]; then
  echo "installing llm==$LLM_VERSION llm-openrouter==$LLM_OPENROUTER_VERSION"
  python3 -m venv "$cache/llm-venv"
  "$cache/llm-venv/bin/pip" install -q "llm==$LLM_VERSION" "llm-openrouter==$LLM_OPENROUTER_VERSION" 2>/dev/null \
    || "$cache/llm-venv/bin/pip" install -q llm llm-openrouter
fi
if [ ! -x "$cache/venv/bin/litellm" ]; then
  echo "installing litellm[proxy]==$LITELLM_VERSION"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q "litellm[proxy]==$LITELLM_VERSION" 2>/dev/null \
    || "$cache/venv/bin/pip" install -q "litellm[proxy]"
fi
# aider-chat is a large install (74 s cold here); KEYHOLE_CONFORMANCE_AIDER=0 leaves it out.
export KEYHOLE_CONFORMANCE_AIDER=${KEYHOLE_CONFORMANCE_AIDER:-1}
if [ "$KEYHOLE_CONFORMANCE_AIDER" = 1 ] && [ ! -x "$cache/aider-venv/bin/aider" ]; then
  echo "installing aider-chat==$AIDER_VERSION"
  python3 -m venv "$cache/aider-venv"
  "$cache/aider-venv/bin/pip" install -q "aider-chat==$AIDER_VERSION" 2>/dev/null \
    || "$cache/aider-venv/bin/pip" install -q aider-chat
fi
echo "cn $("$cache/npm/node_modules/.bin/cn" --version 2>/dev/null | tail -1), litellm $("$cache/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')"
exec python3 "$here/run.py" --cn "$cache/npm/node_modules/.bin/cn" --litellm "$cache/venv/bin/litellm" \
  --find "$root/target/debug/keyhole-find" --env "$root/target/debug/keyhole-env" --capture "$root/target/debug/keyhole-capture" \
  --python "$cache/venv/bin/python" --claude "$cache/npm/node_modules/.bin/claude" --opencode "$cache/npm/node_modules/.bin/opencode" --codex "$cache/npm/node_modules/.bin/codex" --aider "$cache/aider-venv/bin/aider" "$@"
