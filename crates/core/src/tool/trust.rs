//! Which CA roots a tool's HTTP client trusts (docs/wire.md#trust-stores):
//! a tool's trust store is not the system's. keyhole-probe verifies a
//! server's certificate against the store the site's tool uses, so that
//! behind TLS inspection it does not say ok while the tool fails.

use std::collections::BTreeMap;

/// A tool runtime's trust store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Trust {
    /// The system's CA bundle, or the file `SSL_CERT_FILE` names instead
    /// (OpenSSL, Go, curl, Rust clients on native roots).
    #[default]
    System,
    /// Node's bundled Mozilla roots, plus `NODE_EXTRA_CA_CERTS` when it is
    /// in the process environment at start (a tool's own settings file is
    /// read too late).
    NodeBundled,
    /// Bun's bundled roots, plus `NODE_EXTRA_CA_CERTS` and `SSL_CERT_FILE`
    /// from the real environment at start (measured with opencode on Bun
    /// 1.3: both are honoured; the system's store only with
    /// `NODE_USE_SYSTEM_CA=1`).
    Bun,
    /// Python's certifi bundle, unless `REQUESTS_CA_BUNDLE` or
    /// `SSL_CERT_FILE` names another file, which replaces it.
    Certifi,
}

/// Where a store's roots come from, for one analysed environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// Mozilla's roots, as bundled in the client.
    Bundled,
    /// The system's CA bundle (the first found of the usual places).
    SystemBundle,
    /// A PEM file named by a variable: (variable, path).
    File(&'static str, String),
}

impl Trust {
    /// The name recorded on the probe's request (`request.trust`).
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::System => "system",
            Trust::NodeBundled => "node",
            Trust::Bun => "bun",
            Trust::Certifi => "certifi",
        }
    }

    /// The store's roots in `env` (the tool's process environment at start),
    /// each a set a chain may lead to; `--cacert` roots come on top of every
    /// store.
    pub fn roots(self, env: &BTreeMap<String, Vec<u8>>) -> Vec<Roots> {
        let var = |k: &'static str| {
            env.get(k)
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|v| Roots::File(k, v))
        };
        match self {
            Trust::System => vec![var("SSL_CERT_FILE").unwrap_or(Roots::SystemBundle)],
            Trust::NodeBundled => [Some(Roots::Bundled), var("NODE_EXTRA_CA_CERTS")].into_iter().flatten().collect(),
            Trust::Bun => {
                let system = env.get("NODE_USE_SYSTEM_CA").is_some_and(|v| v.as_slice() == b"1");
                [
                    Some(Roots::Bundled),
                    var("NODE_EXTRA_CA_CERTS"),
                    var("SSL_CERT_FILE"),
                    system.then_some(Roots::SystemBundle),
                ]
                .into_iter()
                .flatten()
                .collect()
            }
            Trust::Certifi => {
                vec![var("REQUESTS_CA_BUNDLE").or_else(|| var("SSL_CERT_FILE")).unwrap_or(Roots::Bundled)]
            }
        }
    }

    /// What the store is, in words (`Node's bundled roots`).
    pub fn describe(self) -> &'static str {
        match self {
            Trust::System => "the system's CA bundle",
            Trust::NodeBundled => "Node's bundled CA roots (plus NODE_EXTRA_CA_CERTS from its environment at start)",
            Trust::Bun => "Bun's bundled CA roots (plus NODE_EXTRA_CA_CERTS and SSL_CERT_FILE from its environment at start; the system's store only with NODE_USE_SYSTEM_CA=1)",
            Trust::Certifi => "Python's certifi bundle (unless REQUESTS_CA_BUNDLE or SSL_CERT_FILE names another)",
        }
    }

    /// How to make the tool trust a CA the system trusts (`{ca}`: the CA file).
    pub fn fix(self, ca: &str) -> String {
        match self {
            Trust::System => format!("add the CA to the system's bundle, or set SSL_CERT_FILE={ca}"),
            Trust::NodeBundled => format!(
                "set NODE_EXTRA_CA_CERTS={ca} in the environment the tool starts with (a shell startup file, the unit, the launcher), then restart it; in a settings file it comes too late"
            ),
            Trust::Bun => format!(
                "Bun does not read the system's CA store by default: set NODE_EXTRA_CA_CERTS={ca} (or NODE_USE_SYSTEM_CA=1) in the environment the tool starts with (not in a .env file), then restart it"
            ),
            Trust::Certifi => format!(
                "set REQUESTS_CA_BUNDLE={ca} and SSL_CERT_FILE={ca} in the environment the tool starts with (certifi does not read the system's bundle)"
            ),
        }
    }
}
