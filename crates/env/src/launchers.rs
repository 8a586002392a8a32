//! Service definitions that start a tool: systemd units (user and system,
//! with drop-ins and `EnvironmentFile=`), docker compose services, crontab
//! lines. For each, whether what it starts gets the variable
//! (docs/launch-contexts.md#services).

use std::path::Path;

use keyhole_core::provider::Provider;
use keyhole_core::record::env::Launcher;
use keyhole_core::tool::Tool;

use crate::Options;

/// The launchers under the home (and `opts.etc`) that start `tool` (or use
/// the site's config file), with what each passes for `var`.
pub fn scan(
    _var: &str,
    _tool: Option<&'static Tool>,
    _site_file: Option<&Path>,
    _opts: &Options,
    _provider: Option<&Provider>,
) -> Vec<Launcher> {
    Vec::new()
}
