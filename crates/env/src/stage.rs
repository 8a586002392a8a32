//! keyhole-env as a stage of the stream (docs/records.md#env): the same
//! value serves `keyhole-env` and `keyhole doctor`.

use keyhole_core::error::Result;
use keyhole_core::record::{host_name, AlsoAuth, Env, EnvRecord, Extra, KeyRef, KeySource, Record, Site, VERSION};
use keyhole_core::stage::{Ctx, Output, Stage};
use keyhole_core::Status;

use crate::{analyse, exec, Options};

/// Adds `env` to every site whose key comes from a variable; every other
/// record passes through unchanged.
#[derive(Clone, Debug)]
pub struct EnvStage {
    pub opts: Options,
    /// Also ask the real shells (`--exec`): this runs the user's startup files.
    pub exec: bool,
}

impl EnvStage {
    pub fn new(opts: Options, exec: bool) -> Self {
        EnvStage { opts, exec }
    }

    /// The `env` object for `var`, of `site` when there is one.
    pub fn env_of(&self, var: &str, site: Option<&Site>, ctx: &Ctx) -> Env {
        let mut env = analyse(var, site, &self.opts, ctx);
        if self.exec {
            exec::add_exec(&mut env, &self.opts, ctx);
        }
        env
    }

    /// The other credentials the site's tool sends in the same request
    /// (catalogue `sends_together`, docs/wire.md#claude-code): every other
    /// variable of the list that the tool really gets, each with its own
    /// `env`, and a helper command's output in every header.
    fn add_also(&self, site: &mut Site, ctx: &Ctx) {
        let Some(t) = keyhole_core::tool::get(&site.tool) else { return };
        let together = t.sends_together;
        if !together.iter().any(|(_, h, _)| h.as_str() == site.auth.header) {
            return;
        }
        // Run twice, the stage writes the same record.
        site.also.retain(|a| !together.iter().any(|(_, h, _)| h.as_str() == a.header));
        for &(var, header, scheme) in together.iter().filter(|(_, h, _)| h.as_str() != site.auth.header) {
            let (key, env) = match site.key.from {
                KeySource::Command => (site.key.clone(), None),
                _ => {
                    let env = self.env_of(var, Some(&*site), ctx);
                    if env.effective.is_none() {
                        continue;
                    }
                    (KeyRef::env(var, None), Some(env))
                }
            };
            let (header, scheme) = (header.as_str().to_string(), scheme.as_str().to_string());
            site.also.push(AlsoAuth { header, scheme, key, env, extra: Extra::new() });
        }
    }

    /// `keyhole-env VAR…`: one `env` record per variable, no site.
    pub fn run_vars(&self, vars: &[String], ctx: &Ctx) -> Result<Status> {
        let mut out = Output::stdout();
        let host = host_name();
        for var in vars {
            let env = self.env_of(var, None, ctx);
            let r = EnvRecord { v: VERSION, host: host.clone(), var: var.clone(), env, extra: Extra::new() };
            out.write(&Record::Env(r))?;
        }
        Ok(ctx.status())
    }
}

impl Stage for EnvStage {
    fn expects(&self) -> keyhole_core::stage::Expects {
        keyhole_core::stage::Expects { what: "site records", from: "keyhole-find's output" }
    }

    fn apply(&self, record: &mut Record, ctx: &Ctx) {
        let Some(site) = record.site_mut() else { return };
        let var = match site.key.from {
            KeySource::Env => site.key.var.clone(),
            // A line of a .env file the tool loads itself: is it the line the tool uses?
            KeySource::Literal if crate::loads_own_file(site, &self.opts) => site.assigns.clone(),
            _ => None,
        };
        if let Some(var) = var {
            self.add_env(site, &var, ctx);
        }
        self.add_also(site, ctx);
    }
}

impl EnvStage {
    fn add_env(&self, site: &mut Site, var: &str, ctx: &Ctx) {
        let env = self.env_of(var, Some(&*site), ctx);
        // Unset, the tool falls back to another variable in another header (catalogue
        // key_var_fallback): the site becomes what the tool really sends.
        let fallback = keyhole_core::tool::get(&site.tool)
            .and_then(|t| t.key_var_fallback.iter().find(|(from, ..)| *from == var))
            .filter(|_| env.effective.is_none() && site.key.from == KeySource::Env);
        if let Some(&(_, next, header, scheme)) = fallback {
            let next_env = self.env_of(next, Some(&*site), ctx);
            if next_env.effective.is_some() {
                site.key.note = Some(format!("{var} is unset: {} sends {next} as {}", site.tool, header.as_str()));
                site.key.var = Some(next.to_string());
                site.auth = keyhole_core::record::Auth::new(header.as_str(), scheme.as_str());
                site.env = Some(next_env);
                return;
            }
        }
        site.env = Some(env);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyhole_core::stage::run_on;

    const SITE: &str = r#"{"type":"site","v":1,"id":"i","host":"h","tool":"aider","source":{"file":"/nowhere/p/.aider.conf.yml","line":1},"provider":"openrouter","model":null,"base_url":"u","base_url_from":"default","auth":{"header":"authorization","scheme":"bearer"},"key":{"from":"env","var":"OPENROUTER_API_KEY"},"mine":1}"#;

    #[test]
    fn env_sites_get_env_and_the_rest_pass_through() {
        let opts = Options::new("/nowhere".into(), Default::default(), "/nowhere/proc".into());
        let literal = SITE.replace(r#"{"from":"env","var":"OPENROUTER_API_KEY"}"#, r#"{"from":"none"}"#);
        let input = format!("{SITE}\n{literal}\n{SITE}\n");
        let (mut out, ctx) = (Vec::new(), Ctx::new("t"));
        let st = run_on(&EnvStage::new(opts, false), input.as_bytes(), &mut out, &ctx).unwrap();
        assert_eq!(st, Status::Ok);
        let recs: Vec<Record> =
            String::from_utf8(out).unwrap().lines().map(|l| Record::from_json(l).unwrap()).collect();
        let env = recs[0].site().unwrap().env.as_ref().expect("an env site gets env");
        assert_eq!((env.var.as_str(), env.current.set, env.effective.is_none()), ("OPENROUTER_API_KEY", false, true));
        assert!(recs[1].site().unwrap().env.is_none());
        assert!(recs[1].site().unwrap().extra.contains_key("mine"));
        assert_eq!(ctx.take_notes(), vec!["/nowhere/proc cannot be read; no process checked".to_string()]);
    }
}
