//! Root causes that are not file edits (docs/fix.md#commands): the command
//! to run. `restart` a process that started before the key was set as it is
//! now (its systemd unit, VS Code's server, else its PID and command line);
//! `log_in` again when the key the tool saved itself fails (the tool's own
//! command, catalogue `log_in`); `buy_credits` at the provider's credits
//! page (provider catalogue `account.credits_page`).

use keyhole_core::record::env::{Env, LauncherKind, Outcome, ProcessFact, SourceKind};
use keyhole_core::record::{Code, Diagnosis, FixKind, Site};
use keyhole_core::{provider, tool};

use super::lines::{sent_works, tried};
use super::Scope;
use crate::edit::{Action, Plan};

/// The plans for `d` of `site`.
pub fn plan(site: &Site, d: &Diagnosis, scope: &Scope) -> Vec<Plan> {
    let _ = scope;
    let action = match d.code {
        Code::KeyStaleProcess => restart(site, d),
        Code::CreditsInsufficient => buy_credits(site, d),
        Code::AuthInvalidKey | Code::AuthDisabledKey | Code::KeyShadowed => log_in(site, d),
        _ => None,
    };
    action.map(Plan::Action).into_iter().collect()
}

fn action(site: &Site, d: &Diagnosis, kind: FixKind, command: String, says: String) -> Action {
    Action { site: site.id.clone(), cause: d.code, kind, command, says }
}

/// The process that must start again: the one whose value the tool sends,
/// else one that lacks the variable since before it was set, else one of a
/// unit whose definition now sets another value.
fn stale(env: &Env) -> Option<&ProcessFact> {
    let pid = env.effective.as_ref().and_then(|e| e.from.strip_prefix("process:"));
    let sets = |p: &&ProcessFact| {
        env.launchers.iter().any(|l| {
            l.sees == Some(true)
                && p.unit.as_deref() == Some(l.name.as_str())
                && (!p.has_var || p.fp.as_ref().map(|f| &f.sha8) != l.fp.as_ref().map(|f| &f.sha8))
        })
    };
    env.processes
        .iter()
        .find(|p| pid == Some(p.pid.to_string().as_str()))
        .or_else(|| {
            env.processes.iter().find(|p| p.lacks_because == Some(keyhole_core::record::env::LacksBecause::Stale))
        })
        .or_else(|| env.processes.iter().find(sets))
}

/// `key.stale_process`: restart it the way it was started.
fn restart(site: &Site, d: &Diagnosis) -> Option<Action> {
    let env = site.env.as_ref()?;
    let p = stale(env)?;
    let var = env.var.as_str();
    let what = match &p.command {
        Some(c) => format!("process {} ({c})", p.pid),
        None => format!("process {} ({})", p.pid, p.role),
    };
    let started = format!("{what} started before {var} was set as it is now");
    let (command, says) = if p.role().is_editor() {
        (
            "Remote-SSH: Kill VS Code Server on Host".to_string(),
            format!("{started}: VS Code resolves the shell environment once per server; run \"Remote-SSH: Kill VS Code Server on Host\" from the command palette and reconnect (local: quit every VS Code window); reloading the window is not enough"),
        )
    } else if let Some(unit) = p.unit.as_deref().filter(|_| p.launched_as.starts_with("systemd_")) {
        let c = if p.launched_as == "systemd_user" {
            format!("systemctl --user restart {unit}")
        } else {
            format!("sudo systemctl restart {unit}")
        };
        (c.clone(), format!("{started}: {c}"))
    } else if let Some(l) =
        env.launchers.iter().find(|l| l.kind == LauncherKind::Compose && p.launched_as == "container")
    {
        let c = format!("docker compose -f {} up -d --force-recreate {}", l.file, l.name);
        (c.clone(), format!("{started}: recreate the service: {c}"))
    } else {
        (
            format!("kill {}", p.pid),
            format!("{started}: stop it (kill {}) and start it again from a shell that has {var}", p.pid),
        )
    };
    Some(action(site, d, FixKind::Restart, command, says))
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
