//! Root causes that are not file edits (docs/fix.md#commands): the command
//! to run. `restart` a process that started before the key was set as it is
//! now (its systemd unit, VS Code's server, else its PID and command line);
//! `log_in` again when the key the tool saved itself fails (the tool's own
//! command, catalogue `log_in`); `buy_credits` at the provider's credits
//! page (provider catalogue `account.credits_page`).

use keyhole_core::record::env::{Env, LacksBecause, LauncherKind, Outcome, ProcessFact, SourceKind};
use keyhole_core::record::{Code, Diagnosis, FixKind, Site};
use keyhole_core::{provider, tool};

use super::lines::{sent_works, tried};
use super::Scope;
use crate::edit::{Action, Plan};

/// The plans for `d` of `site`.
pub fn plan(site: &Site, d: &Diagnosis, scope: &Scope) -> Vec<Plan> {
    let _ = scope;
    let actions = match d.code {
        Code::KeyStaleProcess => restart(site, d),
        Code::CreditsInsufficient => buy_credits(site, d).into_iter().collect(),
        Code::AuthInvalidKey | Code::AuthDisabledKey | Code::KeyShadowed => log_in(site, d).into_iter().collect(),
        _ => Vec::new(),
    };
    actions.into_iter().map(Plan::Action).collect()
}

fn action(site: &Site, d: &Diagnosis, kind: FixKind, command: String, says: String) -> Action {
    Action { site: site.id.clone(), cause: d.code, kind, command, says }
}

/// The processes that must start again: the one whose value the tool
/// sends, those that lack the variable since before it was set, and those
/// of a unit whose definition now sets another value.
fn stale(env: &Env) -> Vec<&ProcessFact> {
    let pid = env.effective.as_ref().and_then(|e| e.from.strip_prefix("process:"));
    let sets = |p: &&ProcessFact| {
        env.launchers.iter().any(|l| {
            l.sees == Some(true)
                && p.unit.as_deref() == Some(l.name.as_str())
                && (!p.has_var || p.fp.as_ref().map(|f| &f.sha8) != l.fp.as_ref().map(|f| &f.sha8))
        })
    };
    let sends = env.processes.iter().filter(|p| pid == Some(p.pid.to_string().as_str()));
    let lacks = env.processes.iter().filter(|p| p.lacks_because == Some(LacksBecause::Stale));
    let mut out: Vec<&ProcessFact> = Vec::new();
    for p in sends.chain(lacks).chain(env.processes.iter().filter(sets)) {
        if !out.iter().any(|q| q.pid == p.pid) {
            out.push(p);
        }
    }
    out
}

/// A process for people: its PID and command line.
fn named(p: &ProcessFact) -> String {
    match &p.command {
        Some(c) => format!("process {} ({c})", p.pid),
        None => format!("process {} ({})", p.pid, p.role),
    }
}

/// How to restart `p` the way it was started, and why; None: by its PID.
fn how(p: &ProcessFact, env: &Env, started: &str) -> Option<(String, String)> {
    if p.role().is_editor() {
        return Some((
            "Remote-SSH: Kill VS Code Server on Host".to_string(),
            format!("{started}: VS Code resolves the shell environment once per server; run \"Remote-SSH: Kill VS Code Server on Host\" from the command palette and reconnect (local: quit every VS Code window); reloading the window is not enough"),
        ));
    }
    if let Some(unit) = p.unit.as_deref().filter(|_| p.launched_as.starts_with("systemd_")) {
        let c = if p.launched_as == "systemd_user" {
            format!("systemctl --user restart {unit}")
        } else {
            format!("sudo systemctl restart {unit}")
        };
        return Some((c.clone(), format!("{started}: {c}")));
    }
    let l = env.launchers.iter().find(|l| l.kind == LauncherKind::Compose && p.launched_as == "container")?;
    let c = format!("docker compose -f {} up -d --force-recreate {}", l.file, l.name);
    Some((c.clone(), format!("{started}: recreate the service: {c}")))
}

/// `key.stale_process`: restart each stale process the way it was started
/// (its unit, VS Code's server, its compose service), the others by PID.
fn restart(site: &Site, d: &Diagnosis) -> Vec<Action> {
    let Some(env) = site.env.as_ref() else { return Vec::new() };
    let var = env.var.as_str();
    let mut out: Vec<Action> = Vec::new();
    let mut by_pid: Vec<&ProcessFact> = Vec::new();
    for p in stale(env) {
        let started = format!("{} started before {var} was set as it is now", named(p));
        match how(p, env, &started) {
            Some((command, says)) => {
                if !out.iter().any(|a| a.command == command) {
                    out.push(action(site, d, FixKind::Restart, command, says));
                }
            }
            None => by_pid.push(p),
        }
    }
    if !by_pid.is_empty() {
        let pids: Vec<String> = by_pid.iter().map(|p| p.pid.to_string()).collect();
        let names: Vec<String> = by_pid.iter().map(|p| named(p)).collect();
        let command = format!("kill {}", pids.join(" "));
        let (them, it) = if by_pid.len() == 1 { ("it", "it") } else { ("them", "each") };
        let says = format!(
            "{} started before {var} was set as it is now: stop {them} ({command}) and start {it} again from a shell that has {var}",
            names.join(", ")
        );
        out.push(action(site, d, FixKind::Restart, command, says));
    }
    if out.is_empty() && env.processes.is_empty() && env.effective.is_none() {
        // No process: the environment checked (this shell) predates the
        // definition; a new login shell reads it (docs/fix.md#commands).
        let shell = env.shell.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("bash");
        let command = format!("exec {shell} -l");
        let says = format!(
            "this shell started before {var} was defined where login shells read it: start a new one ({command}, or a new terminal), then start the tool from it"
        );
        out.push(action(site, d, FixKind::Restart, command, says));
    }
    out
}

/// `credits.insufficient`: the provider's page to add credits.
fn buy_credits(site: &Site, d: &Diagnosis) -> Option<Action> {
    let p = provider::get(&site.provider)?;
    let page = p.account.credits_page;
    if page.is_empty() {
        return None;
    }
    let says = format!("the {} account has no credits left: add credits at {page}", p.display);
    Some(action(site, d, FixKind::BuyCredits, page.to_string(), says))
}

/// A key the tool saved itself that fails: log in again with the tool's
/// own command (for `key.shadowed`, only when the variable it beats works).
fn log_in(site: &Site, d: &Diagnosis) -> Option<Action> {
    let t = tool::get(&site.tool)?;
    if t.log_in.is_empty() || sent_works(site) != Some(false) {
        return None;
    }
    // Once per site: for the first of the diagnoses it answers (the shadowing, then the API's 401).
    let answers = |c: Code| matches!(c, Code::AuthInvalidKey | Code::AuthDisabledKey | Code::KeyShadowed);
    if site.diagnoses.iter().flatten().map(|x| x.code).find(|c| answers(*c)) != Some(d.code) {
        return None;
    }
    let env = site.env.as_ref()?;
    let win = env.resolution.iter().find(|c| c.outcome == Outcome::Sends && c.source == SourceKind::Store)?;
    let works = env.resolution.iter().find(|c| c.outcome != Outcome::Sends && tried(site, c) == Some(true));
    if d.code == Code::KeyShadowed && works.is_none() {
        return None;
    }
    let then = works.map_or(String::new(), |c| format!(" with the key at {} (it works, probed)", c.at));
    let says = format!("the key {} saved in {} fails: log in again{then}: {}", t.display, win.at, t.log_in);
    Some(action(site, d, FixKind::LogIn, t.log_in.to_string(), says))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyhole_core::record::Record;

    /// A site of `provider` whose root cause is `code`.
    fn site(provider: &str, code: &str) -> Site {
        let json = format!(
            r#"{{"type":"site","v":1,"id":"continue:/h/.continue/config.yaml#/models/0","host":"h","tool":"continue","source":{{"file":"/h/.continue/config.yaml","line":5,"pointer":"/models/0"}},"provider":"{provider}","base_url":"https://x","base_url_from":"default","auth":{{"header":"authorization","scheme":"bearer"}},"key":{{"from":"none"}},"diagnoses":[{{"code":"{code}","severity":"error","summary":"s","evidence":[],"fix":[]}}]}}"#
        );
        match Record::from_json(&json).unwrap() {
            Record::Site(s) => *s,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_stale_process_is_restarted_once_the_way_it_started() {
        let mut s = site("openrouter", "key.stale_process");
        let env = r#"{"var":"OPENROUTER_API_KEY","current":{"set":true},"processes":[
            {"pid":4001,"role":"aider","started":null,"has_var":false,"launched_as":"interactive","command":"aider --model x","lacks_because":"stale"},
            {"pid":4002,"role":"aider","started":null,"has_var":false,"launched_as":"interactive","command":"aider --watch","lacks_because":"stale"},
            {"pid":4003,"role":"vscode-extension-host","started":null,"has_var":false,"launched_as":"vscode_resolved","lacks_because":"stale"},
            {"pid":4004,"role":"vscode-server","started":null,"has_var":false,"launched_as":"vscode_resolved","lacks_because":"stale"},
            {"pid":4005,"role":"aider","started":null,"has_var":true,"launched_as":"interactive"}]}"#;
        s.env = Some(serde_json::from_str(env).unwrap());
        let d = s.diagnoses.as_ref().unwrap()[0].clone();
        let commands: Vec<String> = plan(&s, &d, &Scope::default())
            .into_iter()
            .map(|p| match p {
                Plan::Action(a) => a.command,
                Plan::Edit(e) => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(commands, ["Remote-SSH: Kill VS Code Server on Host", "kill 4001 4002"]);
    }

    #[test]
    fn credits_are_bought_on_the_providers_own_page() {
        for (p, page) in [
            ("openrouter", "https://openrouter.ai/settings/credits"),
            ("openai", "https://platform.openai.com/settings/organization/billing/overview"),
            ("anthropic", "https://console.anthropic.com/settings/billing"),
        ] {
            let s = site(p, "credits.insufficient");
            let d = &s.diagnoses.as_ref().unwrap()[0];
            let plans = plan(&s, d, &Scope::default());
            match plans.as_slice() {
                [Plan::Action(a)] => assert_eq!((a.kind, a.command.as_str()), (FixKind::BuyCredits, page)),
                other => panic!("{p}: {other:?}"),
            }
        }
        // A provider without a credits page: nothing to plan.
        let s = site("ollama", "credits.insufficient");
        assert!(plan(&s, &s.diagnoses.as_ref().unwrap()[0], &Scope::default()).is_empty());
    }
}
