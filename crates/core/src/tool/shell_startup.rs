//! Shell startup files that assign well-known key variables. Which launch
//! contexts read which file is keyhole-env's business (docs/launch-contexts.md).

use super::*;

pub static TOOL: Tool = Tool {
    name: "shell",
    display: "shell startup file",
    home_files: &[
        FileRule { pattern: ".bashrc", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".bash_profile", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".bash_login", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".profile", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".bash_aliases", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".zshenv", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".zprofile", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".zshrc", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".zlogin", kind: FileKind::Shell(Dialect::Posix) },
        FileRule { pattern: ".config/fish/config.fish", kind: FileKind::Shell(Dialect::Fish) },
        FileRule { pattern: ".config/fish/conf.d/*.fish", kind: FileKind::Shell(Dialect::Fish) },
        FileRule { pattern: ".config/environment.d/*.conf", kind: FileKind::Dotenv(Flavor::Python) },
        FileRule { pattern: ".pam_environment", kind: FileKind::Dotenv(Flavor::Python) },
    ],
    workspace_files: &[FileRule { pattern: ".envrc", kind: FileKind::Shell(Dialect::Posix) }],
    sniff: &[Sniff::Shell],
    other_os: &["/etc/environment", "/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc"],
    extract,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    match parsed {
        Parsed::Shell(a) => env_pair_sites(ctx, &pairs_from_shell(a)),
        Parsed::Dotenv(e) => env_pair_sites(ctx, &pairs_from_dotenv(e)),
        _ => Vec::new(),
    }
}
