//! keyhole-classify: names the root cause and the fix (docs/records.md#diagnoses and #diagnosis-codes), from
//! the evidence of every earlier tool: the site's static facts, keyhole-env's
//! facts and the probe's answer. Also reads raw HTTP (`curl -si`) and logs.

pub mod logscan;
pub mod rawhttp;
pub mod rules;

use keyhole_core::provider;
use keyhole_core::secret::redact_key_shapes;
use keyhole_core::tool;
use rules::{Answer, Rule, Table};
use serde_json::{json, Value};

pub const TOOL_NAME: &str = "keyhole-classify";

pub fn diag(code: &str, severity: &str, summary: impl Into<String>, evidence: Vec<String>, fix: Vec<String>) -> Value {
    json!({"code": code, "severity": severity, "summary": summary.into(), "evidence": evidence, "fix": fix})
}

/// A diagnosis from a table rule, its summary filled from the answer.
pub fn from_rule(r: &Rule, a: &Answer, evidence: Vec<String>) -> Value {
    let summary = r
        .summary
        .replace("{message}", &a.message)
        .replace("{status}", &a.status.map(|s| s.to_string()).unwrap_or_default())
        .replace("{provider}", a.provider.as_deref().unwrap_or("the API"));
    let mut d = diag(&r.code, &r.severity, summary, evidence, r.fix.clone());
    d["rule"] = json!(r.id);
    d
}

fn at(site: &Value) -> String {
    format!("{}:{}", site["source"]["file"].as_str().unwrap_or("?"), site["source"]["line"])
}

/// Tool-specific ways to write a key reference the tool really expands.
fn placeholder_fix(tool: &str, var: &str) -> Vec<String> {
    let v = if var.is_empty() { "OPENROUTER_API_KEY" } else { var };
    let t = tool::get(tool);
    if let Some(own) = t.map(|t| t.fixes.placeholder).filter(|f| !f.is_empty()) {
        return own.iter().map(|f| tool::fill(f, v)).collect();
    }
    let forms: Vec<&str> = t
        .map(|t| t.expands.iter().filter_map(|s| keyhole_core::syntax::get(s).map(|x| x.form)).collect())
        .unwrap_or_default();
    if forms.is_empty() {
        vec![format!("{tool} expands no variables here: write the key itself, or configure it where {tool} reads keys")]
    } else {
        vec![format!("write the reference as {tool} expands it: {}", forms.join(" or "))]
    }
}

fn restart_fix(role: &str) -> String {
    match role {
        "vscode-extension-host" | "vscode-server" => "VS Code resolves the shell environment once per server process: run \"Remote-SSH: Kill VS Code Server on Host\" and reconnect (remote), or quit every VS Code window (local); reloading the window is not enough".into(),
        r => format!("restart the {r} process from a shell that has the variable"),
    }
}

/// The ordered diagnoses of one site: root cause first.
pub fn classify_site(site: &Value, table: &Table) -> Vec<Value> {
    let tool_name = site["tool"].as_str().unwrap_or("?");
    let pname = site["provider"].as_str().unwrap_or("");
    let p = provider::get(pname);
    let key = &site["key"];
    let from = key["from"].as_str().unwrap_or("");
    let var = key["var"].as_str().unwrap_or("");
    let mut causes: Vec<Value> = Vec::new();
    let mut symptoms: Vec<Value> = Vec::new();
    let mut info: Vec<Value> = Vec::new();

    // 1. The site's static facts.
    match from {
        "placeholder" => {
            let text = key["text"].as_str().unwrap_or("");
            let mut ev = vec![format!("{} the key is the text {text:?}", at(site))];
            if let Some(n) = key["note"].as_str() {
                ev.push(n.to_string());
            }
            causes.push(diag(
                "key.placeholder",
                "error",
                format!("{tool_name} sends the text {text} as the key"),
                ev,
                placeholder_fix(tool_name, var),
            ));
        }
        "none" if p.is_some_and(|p| p.auth_header != provider::AuthHeader::None) => {
            let mut ev = vec![format!("{} configures no key", at(site))];
            if let Some(n) = key["note"].as_str() {
                ev.push(n.to_string());
            }
            let fix = match tool::get(tool_name).map(|t| t.fixes.no_key).filter(|f| !f.is_empty()) {
                Some(own) => own.iter().map(|f| f.to_string()).collect(),
                None => vec![format!("configure the {} key where {tool_name} reads it", p.map_or("API", |p| p.display))],
            };
            causes.push(diag(
                "key.none",
                "error",
                format!("no key is configured for {tool_name}'s {pname} entry"),
                ev,
                fix,
            ));
        }
        "store" => info.push(diag(
            "key.store",
            "info",
            format!("the key is in {}, which keyhole cannot read", key["store"].as_str().unwrap_or("a store")),
            vec![at(site)],
            vec!["see what the tool sends with keyhole-capture (point its base URL at it)".into()],
        )),
        _ => {}
    }
    let fp = if from == "literal" { Some(&key["fp"]) } else { site["env"]["effective"].get("fp") };
    if let Some(fp) = fp.filter(|f| f.is_object()) {
        let trims = tool::get(tool_name).is_some_and(|t| t.trims_key);
        fp_causes(site, fp, p, trims, &mut causes);
    }

    // The header the key travels in must be one the API reads.
    if let Some(p) = p {
        let h = site["auth"]["header"].as_str().unwrap_or("");
        let accepted = p.accepts(h) || h == "none" || p.name == "openai-compatible";
        if !accepted && from != "none" {
            causes.push(diag(
                "header.wrong_scheme",
                "error",
                format!("{tool_name} sends the key in {h}, but {} reads {}", p.display, p.auth_header.as_str()),
                vec![at(site)],
                vec![tool::get(tool_name).and_then(|t| t.header_fix(p.auth_header)).map_or_else(
                    || format!("configure {tool_name} to send the key as {}", p.auth_header.as_str()),
                    str::to_string,
                )],
            ));
        }
    }

    // 2. keyhole-env's facts.
    if from == "env" {
        if let Some(env) = site.get("env").filter(|e| e.is_object()) {
            env_causes(site, env, tool_name, var, &mut causes);
        }
    }

    // 3. The probe.
    if let Some(probe) = site.get("probe").filter(|x| x.is_object()) {
        probe_diags(site, probe, p, table, &mut causes, &mut symptoms, &mut info);
    }

    let has_ok = info.iter().any(|d| d["code"] == "ok");
    // The server's complaint is a symptom when something upstream explains it.
    if causes.is_empty() {
        if let Some(first) = symptoms.first_mut() {
            if first["code"] == "auth.missing" {
                let checked = format!(
                    "checked: key reference ({from}), {}, redirects {}, proxy {}",
                    if site.get("env").is_some() { "launch contexts and processes" } else { "no keyhole-env facts" },
                    site["probe"]["redirects"].as_array().map_or(0, |r| r.len()),
                    if site["probe"]["proxy"].is_null() { "none" } else { "in effect" }
                );
                first["evidence"].as_array_mut().expect("evidence is an array").push(json!(checked));
            }
        }
    }
    let mut out = causes;
    if has_ok && out.iter().all(|d| d["severity"] != "error") {
        // ok is the root when the probe proved the key works and nothing is wrong.
        out.retain(|d| d["code"] != "ok");
        let ok: Vec<Value> = info.iter().filter(|d| d["code"] == "ok").cloned().collect();
        info.retain(|d| d["code"] != "ok");
        let mut v = ok;
        v.extend(out);
        out = v;
    }
    out.extend(symptoms);
    out.extend(info);
    out
}

fn fp_causes(site: &Value, fp: &Value, p: Option<&provider::Provider>, trims: bool, causes: &mut Vec<Value>) {
    let flaws: Vec<&str> =
        fp["flaws"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let shown = format!(
        "{}…{} ({} bytes)",
        fp["prefix"].as_str().unwrap_or(""),
        fp["last4"].as_str().unwrap_or("").escape_debug(),
        fp["len"]
    );
    if flaws.contains(&"foreign_prefix") {
        let owner = provider::known_prefix(fp["prefix"].as_str().unwrap_or(""))
            .and_then(|(o, _)| provider::get(o))
            .map_or("another provider's", |o| o.display);
        causes.push(diag(
            "key.wrong_provider",
            "error",
            format!("the key is an {owner} key ({shown}), sent to {}", p.map_or("this API", |p| p.display)),
            vec![at(site)],
            vec![format!("use a key of {} here", p.map_or("this API", |p| p.display))],
        ));
    }
    let bad: Vec<&str> = flaws.iter().copied().filter(|f| *f != "foreign_prefix").collect();
    if !bad.is_empty() {
        let harmless =
            |f: &&str| trims && matches!(*f, "leading_whitespace" | "trailing_whitespace" | "trailing_newline");
        let sev = if bad == ["wrong_length"] || bad.iter().all(harmless) { "warning" } else { "error" };
        let mut fix = Vec::new();
        for f in &bad {
            fix.push(match *f {
                "trailing_newline" => "remove the newline at the end of the key (echo -n, or printf '%s')",
                "leading_whitespace" | "trailing_whitespace" | "inner_whitespace" => {
                    "remove the spaces around or inside the key"
                }
                "quoted" => "remove the quotes that are part of the value",
                "bearer_prefix" => "store the key without 'Bearer ': the tool adds it",
                "bom" => "save the file without a byte-order mark",
                "wrong_length" => "check the key was copied whole (OpenRouter keys are 73 characters)",
                "empty" => "the value is empty: put the key there",
                _ => "remove the odd characters from the key",
            });
        }
        fix.dedup();
        let tail = if bad.iter().all(harmless) {
            format!(
                "; harmless for {}, which trims the key before sending",
                site["tool"].as_str().unwrap_or("this tool")
            )
        } else {
            String::new()
        };
        causes.push(diag(
            "key.malformed",
            sev,
            format!("the key has flaws: {} ({shown}){tail}", bad.join(", ")),
            vec![at(site)],
            fix.into_iter().map(String::from).collect(),
        ));
    }
}

fn env_causes(site: &Value, env: &Value, tool_name: &str, var: &str, causes: &mut Vec<Value>) {
    let defs: Vec<&Value> = env["definitions"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let def_at = |d: &Value| format!("{}:{}", d["file"].as_str().unwrap_or("?"), d["line"]);
    let eff = &env["effective"];
    let procs: Vec<&Value> = env["processes"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let stale: Vec<&&Value> = procs.iter().filter(|p| p["lacks_because"] == "stale").collect();
    if eff.is_null() {
        if defs.is_empty() {
            let near: Vec<&Value> = env["near_misses"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
            let mut ev = vec![
                format!("{} reads {var}", at(site)),
                "no startup file, .env file or environment defines it".into(),
            ];
            let mut fix = vec![format!(
                "export {var}=… in ~/.profile (every login and VS Code) or put it in the .env file {tool_name} loads"
            )];
            for n in &near {
                ev.push(format!(
                    "{}:{} defines {} — a misspelling of {var}?",
                    n["file"].as_str().unwrap_or("?"),
                    n["line"],
                    n["name"].as_str().unwrap_or("?")
                ));
                fix.insert(
                    0,
                    format!(
                        "rename {} to {var} in {}",
                        n["name"].as_str().unwrap_or("?"),
                        n["file"].as_str().unwrap_or("?")
                    ),
                );
            }
            causes.push(diag("key.env_unset", "error", format!("{var} is set nowhere {tool_name} can see"), ev, fix));
        } else if let Some(d) = defs.iter().find(|d| d["exported"] == true && d["after_guard"].is_object()) {
            let g = &d["after_guard"];
            let kind = if g["kind"] == "tty" { "a tty guard" } else { "an interactive-only guard" };
            causes.push(diag(
                "key.after_guard",
                "error",
                format!("export {var} sits below {kind}: {tool_name} starts non-interactively and never reaches it"),
                vec![
                    format!("{} export {var}", def_at(d)),
                    format!("{}:{} guard", g["file"].as_str().unwrap_or("?"), g["line"]),
                ],
                vec![
                    format!("move the export above line {} of {}", g["line"], g["file"].as_str().unwrap_or("?")),
                    "or put it in ~/.profile (login shells, VS Code) / ~/.zshenv (zsh)".into(),
                ],
            ));
        } else if let Some(d) = defs.iter().find(|d| d["exported"] == false) {
            causes.push(diag(
                "key.not_exported",
                "error",
                format!("{var} is assigned but not exported: child processes never get it"),
                vec![format!("{} {var}=…", def_at(d))],
                vec![format!("write export {var}=…")],
            ));
        } else {
            let ev: Vec<String> =
                defs.iter().map(|d| format!("{} ({})", def_at(d), d["kind"].as_str().unwrap_or(""))).collect();
            let terminal_only = defs.iter().all(|d| d["kind"] == "vscode_terminal");
            let fix = if terminal_only {
                vec!["terminal.integrated.env.* reaches the integrated terminal only, never extensions: define the variable in ~/.profile or the tool's .env".to_string()]
            } else {
                vec![format!(
                    "define {var} in a file the tool's launch context reads (~/.profile, ~/.zshenv, the tool's .env)"
                )]
            };
            causes.push(diag(
                "key.wrong_file",
                "error",
                format!("{var} is defined only in files {tool_name}'s launch context never reads"),
                ev,
                fix,
            ));
        }
    }
    for p in &stale {
        causes.push(diag(
            "key.stale_process",
            "error",
            format!(
                "process {} ({}) started before {var} was defined and does not have it",
                p["pid"],
                p["role"].as_str().unwrap_or("?")
            ),
            vec![format!("pid {} started {}", p["pid"], p["started"].as_str().unwrap_or("?"))],
            vec![restart_fix(p["role"].as_str().unwrap_or(""))],
        ));
    }
    for p in procs.iter().filter(|p| p["lacks_because"] == "after_guard" || p["lacks_because"] == "wrong_file") {
        if causes.iter().any(|c| c["code"] == "key.after_guard" || c["code"] == "key.wrong_file") {
            break;
        }
        let code = if p["lacks_because"] == "after_guard" { "key.after_guard" } else { "key.wrong_file" };
        causes.push(diag(
            code,
            "error",
            format!(
                "process {} ({}) lacks {var}: its launch context ({}) never reads the definition",
                p["pid"],
                p["role"].as_str().unwrap_or("?"),
                p["launched_as"].as_str().unwrap_or("?")
            ),
            defs.iter().map(|d| def_at(d)).collect(),
            vec![format!(
                "define {var} in ~/.profile (read by VS Code's resolver and login shells), then {}",
                restart_fix(p["role"].as_str().unwrap_or(""))
            )],
        ));
    }
    if let (Some(cur), Some(e)) = (env["current"]["fp"]["sha8"].as_str(), eff["fp"]["sha8"].as_str()) {
        if cur != e {
            causes.push(diag(
                "key.shadowed",
                "warning",
                format!(
                    "{tool_name} gets {var} from {} (…{}), not the one in your shell (…{})",
                    eff["from"].as_str().unwrap_or("?"),
                    eff["fp"]["last4"].as_str().unwrap_or(""),
                    env["current"]["fp"]["last4"].as_str().unwrap_or("")
                ),
                vec![format!("{} effective", eff["from"].as_str().unwrap_or("?"))],
                vec!["remove or update the stale definition; keyhole-env lists every one".into()],
            ));
        }
    }
}

fn probe_diags(
    site: &Value,
    probe: &Value,
    p: Option<&provider::Provider>,
    table: &Table,
    causes: &mut Vec<Value>,
    symptoms: &mut Vec<Value>,
    info: &mut Vec<Value>,
) {
    let err = &probe["error"];
    if err.is_object() {
        let kind = err["kind"].as_str().unwrap_or("");
        let msg = err["message"].as_str().unwrap_or("").to_string();
        if probe["request"]["header_invalid"] == true {
            causes.push(diag(
                "key.malformed",
                "error",
                "the key holds a newline or control character: no HTTP client sends it",
                vec![at(site), msg],
                vec!["remove the newline at the end of the key".into()],
            ));
            return;
        }
        match kind {
            "dns" | "connect" | "tls" | "timeout" | "proxy" => causes.push(diag(
                &format!("net.{kind}"),
                "error",
                format!("no HTTP answer: {msg}"),
                vec![format!("probe {}", probe["request"]["url"].as_str().unwrap_or(""))],
                vec![net_fix(kind)],
            )),
            "protocol" | "too_large" => causes.push(diag(
                "net.connect",
                "error",
                format!("no usable HTTP answer: {msg}"),
                vec![format!("probe {}", probe["request"]["url"].as_str().unwrap_or(""))],
                vec!["check the base URL: it must be the provider's HTTP API".into()],
            )),
            _ => info.push(diag("unknown", "info", format!("not probed: {msg}"), vec![at(site)], vec![])),
        }
        return;
    }
    let key_sent = probe["request"]["auth_header"].as_str().is_some_and(|h| h != "none");
    for hop in probe["redirects"].as_array().into_iter().flatten() {
        if hop["auth_kept"] == false && key_sent {
            let clients = &hop["clients"];
            let dropped: Vec<&str> = clients
                .as_object()
                .map(|o| o.iter().filter(|(_, v)| **v == false).map(|(k, _)| k.as_str()).collect())
                .unwrap_or_default();
            causes.push(diag(
                "header.dropped_redirect",
                "error",
                "the base URL redirects to another origin, and clients drop the Authorization header on the way",
                vec![
                    format!(
                        "{} {} → {}",
                        hop["status"],
                        hop["from"].as_str().unwrap_or(""),
                        hop["to"].as_str().unwrap_or("")
                    ),
                    format!("drop it: {}", dropped.join(", ")),
                ],
                vec![format!(
                    "set the base URL to the final one: {}",
                    hop["to"].as_str().unwrap_or("").trim_end_matches(|c| c != '/')
                )],
            ));
            break;
        }
    }
    if probe["stripped_by"] == "proxy" {
        causes.push(diag(
            "header.dropped_proxy",
            "error",
            "the key was sent, but the proxy in between strips it: the same request sent directly works",
            vec![
                format!("proxy {}", probe["proxy"].as_str().unwrap_or("?")),
                format!("direct: {}", probe["differential"][1]["status"]),
            ],
            vec!["exempt the API host from the proxy (NO_PROXY), or have the proxy pass Authorization".into()],
        ));
    }
    let resp = &probe["response"];
    let status = resp["status"].as_u64().map(|s| s as u16);
    if status.is_some_and(|s| (200..300).contains(&s)) {
        info.push(diag(
            "ok",
            "info",
            format!("the key was accepted ({})", status.unwrap_or(200)),
            vec![format!(
                "probe {} {}",
                probe["request"]["method"].as_str().unwrap_or(""),
                probe["request"]["url"].as_str().unwrap_or("")
            )],
            vec![],
        ));
        return;
    }
    let a = Answer::from_body(status, &resp["body"], p.map(|p| p.name));
    let ev =
        vec![format!("probe: {} {}", status.map(|s| s.to_string()).unwrap_or_default(), redact_key_shapes(&a.message))];
    match table.match_answer(&a) {
        Some(rule) => {
            let mut d = from_rule(rule, &a, ev);
            // No credential arrived although the probe sent one: something in between dropped it.
            let no_creds = p.is_some_and(|p| p.says_no_credentials(&a.message));
            if no_creds
                && key_sent
                && causes.iter().all(|c| c["code"] != "header.dropped_redirect" && c["code"] != "header.dropped_proxy")
            {
                causes.push(diag(
                    "header.dropped_proxy",
                    "error",
                    "the key was sent, but the API says no credential arrived: something in between strips it",
                    vec![format!("probe sent {}", probe["request"]["auth_header"].as_str().unwrap_or("")), d["evidence"][0].as_str().unwrap_or("").to_string()],
                    vec!["look for a proxy, gateway or redirect between the tool and the API (HTTPS_PROXY, a LiteLLM chain): keyhole-capture shows each hop".into()],
                ));
            }
            if d["code"] == "ok" {
                d["severity"] = json!("info");
            }
            symptoms.push(d);
        }
        None => symptoms.push(diag(
            "unknown",
            "warning",
            format!(
                "the API answered {}: {}",
                status.map(|s| s.to_string()).unwrap_or_default(),
                redact_key_shapes(&a.message)
            ),
            ev,
            vec![],
        )),
    }
}

fn net_fix(kind: &str) -> String {
    match kind {
        "dns" => "check the base URL's host name and the machine's DNS".into(),
        "connect" => "check the base URL's host and port, and that the server runs".into(),
        "tls" => "pass the CA with keyhole-probe --cacert, or fix the server's certificate; Node tools need NODE_EXTRA_CA_CERTS for a corporate CA".into(),
        "timeout" => "the server did not answer in time: check the network, the proxy, or raise --timeout".into(),
        _ => "check HTTPS_PROXY / NO_PROXY".into(),
    }
}

/// A `response` record for one raw answer (from --http or --log).
pub fn response_record(
    file: &str,
    line: u64,
    status: Option<u16>,
    body: Value,
    table: &Table,
    provider: Option<&str>,
    extra: Option<&Rule>,
) -> Value {
    let a = Answer::from_body(status, &body, provider);
    let ev = vec![format!("{file}:{line}")];
    let mut diagnoses = Vec::new();
    if let Some(r) = table.match_answer(&a).or(extra) {
        diagnoses.push(from_rule(r, &a, ev.clone()));
    } else if a.status.is_some_and(|s| s >= 400) {
        diagnoses.push(diag(
            "unknown",
            "warning",
            format!("{} {}", a.status.unwrap_or(0), redact_key_shapes(&a.message)),
            ev,
            vec![],
        ));
    } else if a.status.is_some_and(|s| (200..300).contains(&s)) {
        diagnoses.push(diag("ok", "info", format!("{} OK", a.status.unwrap_or(200)), ev, vec![]));
    }
    let body = match body {
        Value::String(s) => Value::String(redact_key_shapes(&s).into_owned()),
        other => serde_json::from_str(&redact_key_shapes(&other.to_string())).unwrap_or(Value::Null),
    };
    json!({"type": "response", "v": 1, "source": {"file": file, "line": line}, "status": a.status, "body": body, "diagnoses": diagnoses})
}
