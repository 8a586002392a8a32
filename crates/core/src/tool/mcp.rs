//! MCP server definitions: the `env` block of a server entry is the only way
//! its keys reach the server, and each launching app expands its own
//! syntax there (or none). One entry per launching app, because what it
//! expands differs. docs/tools.md#mcp-server-definitions.

use super::*;

/// Claude Desktop: `mcpServers.<name>.env`, passed to the server as
/// written: no variable is expanded.
pub static CLAUDE_DESKTOP: Tool = Tool {
    name: "mcp-claude-desktop",
    display: "Claude Desktop (MCP servers)",
    home_files: &[FileRule {
        pattern: ".config/Claude/claude_desktop_config.json",
        kind: FileKind::Doc(Format::Json),
    }],
    other_os: &[
        "~/Library/Application Support/Claude/claude_desktop_config.json",
        "%APPDATA%\\Claude\\claude_desktop_config.json",
    ],
    fixes: Fixes {
        placeholder: &[
            "Claude Desktop passes the env block to the server as written: put the key itself in mcpServers.<name>.env.{var} of claude_desktop_config.json, then quit and restart Claude Desktop",
        ],
        no_key: &[],
        header: &[],
    },
    extract,
    ..BASE
};

/// Cursor: `.cursor/mcp.json` in a project and `~/.cursor/mcp.json`;
/// `${env:NAME}` is expanded in `env` values.
pub static CURSOR: Tool = Tool {
    name: "mcp-cursor",
    display: "Cursor (MCP servers)",
    home_files: &[FileRule { pattern: ".cursor/mcp.json", kind: FileKind::Doc(Format::Json) }],
    workspace_files: &[FileRule { pattern: ".cursor/mcp.json", kind: FileKind::Doc(Format::Json) }],
    other_os: &["%USERPROFILE%\\.cursor\\mcp.json"],
    expands: &["vscode_env"],
    fixes: Fixes {
        placeholder: &[
            "Cursor expands ${env:{var}} in mcp.json: write \"{var}\": \"${env:{var}}\" and start Cursor from an environment where {var} is set, or put the key itself there",
        ],
        no_key: &[],
        header: &[],
    },
    extract,
    ..BASE
};

/// VS Code: `.vscode/mcp.json` (`servers.<name>.env`), and the user
/// profile's `mcp.json`; `${env:NAME}` is expanded, `${input:ID}` is asked
/// for once and kept in VS Code's secret storage.
pub static VSCODE: Tool = Tool {
    name: "mcp-vscode",
    display: "VS Code (MCP servers)",
    home_files: &[FileRule { pattern: ".config/Code/User/mcp.json", kind: FileKind::Doc(Format::Json) }],
    workspace_files: &[FileRule { pattern: ".vscode/mcp.json", kind: FileKind::Doc(Format::Json) }],
    other_os: &["~/Library/Application Support/Code/User/mcp.json", "%APPDATA%\\Code\\User\\mcp.json"],
    expands: &["vscode_env"],
    fixes: Fixes {
        placeholder: &[
            "VS Code expands ${env:{var}} and ${input:ID} in mcp.json: write \"{var}\": \"${env:{var}}\", or declare a promptString input with \"password\": true and write ${input:ID}",
        ],
        no_key: &[],
        header: &[],
    },
    extract,
    ..BASE
};

/// Claude Code: the project's `.mcp.json` and `~/.claude.json` (user
/// servers, and each project's under `projects`); `${VAR}` and
/// `${VAR:-default}` are expanded.
pub static CLAUDE_CODE: Tool = Tool {
    name: "mcp-claude-code",
    display: "Claude Code (MCP servers)",
    home_files: &[FileRule { pattern: ".claude.json", kind: FileKind::Doc(Format::Json) }],
    workspace_files: &[FileRule { pattern: ".mcp.json", kind: FileKind::Doc(Format::Json) }],
    other_os: &["$CLAUDE_CONFIG_DIR/.claude.json"],
    expands: &["dollar_brace"],
    fixes: Fixes {
        placeholder: &[
            "Claude Code expands ${{var}} in .mcp.json: write \"{var}\": \"${{var}}\" and export {var} where Claude Code starts, or put the key itself there",
        ],
        no_key: &[],
        header: &[],
    },
    extract,
    ..BASE
};

/// Codex CLI: `[mcp_servers.<name>.env]` in `~/.codex/config.toml`, values
/// as written; `env_vars = [...]` forwards variables from Codex's own
/// environment.
pub static CODEX: Tool = Tool {
    name: "mcp-codex",
    display: "Codex CLI (MCP servers)",
    home_files: &[FileRule { pattern: ".codex/config.toml", kind: FileKind::Doc(Format::Toml) }],
    other_os: &["$CODEX_HOME/config.toml", "%USERPROFILE%\\.codex\\config.toml"],
    fixes: Fixes {
        placeholder: &[
            "Codex passes [mcp_servers.<name>.env] as written: put the key itself there, or remove it and list the variable in env_vars = [\"{var}\"] so Codex forwards {var} from its own environment",
        ],
        no_key: &[],
        header: &[],
    },
    extract,
    ..BASE
};

/// A variable name that holds a credential.
fn key_looking(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    key_var_provider(name).is_some()
        || ["_API_KEY", "_KEY", "_TOKEN", "_SECRET", "_PAT", "APIKEY"].iter().any(|s| n.ends_with(s))
}

/// The provider a variable's key is for: a catalogued key variable's, else
/// a generic OpenAI-compatible one (an MCP server's own service).
fn provider_of(name: &str) -> &'static Provider {
    key_var_provider(name).unwrap_or_else(|| provider_for(None, None))
}

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Doc(doc) = parsed else { return Vec::new() };
    let mut out = Vec::new();
    if ctx.tool.name == CODEX.name {
        if let Some(servers) = doc.get("mcp_servers") {
            servers_sites(ctx, servers, &["mcp_servers"], &mut out);
        }
        return out;
    }
    for top in ["mcpServers", "servers"] {
        if let Some(servers) = doc.get(top) {
            servers_sites(ctx, servers, &[top], &mut out);
        }
    }
    // ~/.claude.json: each project's own servers.
    if let Some(projects) = doc.get("projects") {
        for (dir, _, p) in projects.entries() {
            if let Some(servers) = p.get("mcpServers") {
                servers_sites(ctx, servers, &["projects", dir, "mcpServers"], &mut out);
            }
        }
    }
    out
}

fn servers_sites(ctx: &FileCtx, servers: &Node, at: &[&str], out: &mut Vec<Draft>) {
    for (name, _, server) in servers.entries() {
        let mut path: Vec<&str> = at.to_vec();
        path.push(name);
        if let Some(env) = server.get("env") {
            for (var, line, value) in env.entries() {
                if !key_looking(var) {
                    continue;
                }
                let p = provider_of(var);
                let Some(text) = value.scalar_text() else { continue };
                let key = key_of(ctx, var, &text, p);
                let mut ptr = path.clone();
                ptr.extend(["env", var.as_str()]);
                out.push(Draft::new(*line, p, key).pointer(pointer(&ptr)));
            }
        }
        // Codex: variables forwarded by name from Codex's environment.
        if let Some(fwd) = server.get("env_vars") {
            for (i, v) in fwd.items().iter().enumerate() {
                let Some(var) = v.as_str().filter(|v| key_looking(v)) else { continue };
                let key = KeyRef::env(var, Some("env_vars"))
                    .with_note("Codex forwards this variable from its own environment to the server");
                let idx = i.to_string();
                let mut ptr = path.clone();
                ptr.extend(["env_vars", idx.as_str()]);
                out.push(Draft::new(v.line, provider_of(var), key).pointer(pointer(&ptr)));
            }
        }
    }
}

fn key_of(ctx: &FileCtx, var: &str, text: &str, p: &Provider) -> KeyRef {
    if text.is_empty() {
        return KeyRef::none()
            .with_note(format!("the env block sets {var} to nothing: the server gets an empty value"));
    }
    if text.contains("${input:") {
        if ctx.tool.name == VSCODE.name {
            return KeyRef::store("vscode_input").with_note(
                "VS Code asks for this input once and keeps the answer in its secret storage: keyhole cannot read it",
            );
        }
        return KeyRef::placeholder(
            text,
            None,
            format!("{} does not expand ${{input:…}} (a VS Code form): the server gets the text", ctx.tool.display),
        );
    }
    ctx.key_from_text(text, p)
}
