//! Generic `.env` files in the home and in projects: every well-known key
//! variable is a site. docs/tools.md#dotenv-files.

use super::*;

pub static TOOL: Tool = Tool {
    name: "dotenv",
    display: ".env file",
    home_files: &[FileRule { pattern: ".env", kind: FileKind::Dotenv(Flavor::Python) }],
    workspace_files: &[
        FileRule { pattern: ".env", kind: FileKind::Dotenv(Flavor::Python) },
        FileRule { pattern: ".env.*", kind: FileKind::Dotenv(Flavor::Python) },
        FileRule { pattern: "*.env", kind: FileKind::Dotenv(Flavor::Python) },
    ],
    sniff: &[Sniff::Dotenv],
    yields: true,
    extract,
    ..BASE
};

fn extract(ctx: &FileCtx, parsed: &Parsed) -> Vec<Draft> {
    let Parsed::Dotenv(entries) = parsed else { return Vec::new() };
    let mut out = env_pair_sites(ctx, &pairs_from_dotenv(entries));
    out.extend(super::open_webui::sites(ctx, entries));
    out.extend(super::gemini_cli::project_sites(ctx, entries));
    out
}
