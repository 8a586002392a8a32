//! Crush's `CRUSH_<NAME>` variables (docs/tools.md#crush): Crush copies
//! each over `<NAME>` only while it loads its providers and restores them
//! before a request resolves the key again, so `CRUSH_OPENROUTER_API_KEY`
//! can make the provider usable while the key sent is still
//! `OPENROUTER_API_KEY`'s. The catalogue lists the variables and each site
//! whose key is a variable says so; keyhole never takes the `CRUSH_` value
//! for the key sent.

mod util;

use serde_json::Value;
use util::*;

/// A Debian home: the user's Crush config reads `$OPENROUTER_API_KEY`, a
/// project names Anthropic without a key (Crush reads its variable), a
/// template .env and a second tool configured correctly.
fn home(t: &TempDir) {
    t.write(
        ".bashrc",
        "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# If not running interactively, don't do anything\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\n\nHISTCONTROL=ignoreboth\n",
    );
    t.write(
        ".config/crush/crush.json",
        "{\n  \"$schema\": \"https://charm.land/crush.json\",\n  \"providers\": {\n    \"openrouter\": {\n      \"api_key\": \"$OPENROUTER_API_KEY\"\n    }\n  }\n}\n",
    );
    t.write(
        "work/app/crush.json",
        "{\n  \"providers\": {\n    \"anthropic\": {\n      \"base_url\": \"https://api.anthropic.com/v1\"\n    }\n  }\n}\n",
    );
    t.write("work/app/.env.example", "CRUSH_OPENROUTER_API_KEY=your-api-key-here\n");
    t.write(
        "work/app/.aider.conf.yml",
        format!("model: openrouter/anthropic/claude-sonnet-4.5\napi-key:\n  - openrouter={}\n", or_canary("AD01")),
    );
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
}

fn note(s: &Value) -> &str {
    s["key"]["note"].as_str().unwrap_or("")
}

#[test]
fn crush_prefixed_variables_make_a_provider_usable_but_are_not_the_key_sent() {
    let t = TempDir::new("crush-env");
    home(&t);
    // The analysed environment holds only the CRUSH_-prefixed key.
    let outside = TempDir::new("crush-env-outside");
    let envf = outside.write(
        "analysed.env",
        format!("SHELL=/bin/bash\nLANG=C.UTF-8\nCRUSH_OPENROUTER_API_KEY={}\n", or_canary("CR09")),
    );
    let recs = run_pipeline(&pipeline_command(t.path(), &envf, "", None));
    let or = site(&recs, "crush", ".config/crush/crush.json", "/providers/openrouter");
    assert_eq!(or["key"]["var"], "OPENROUTER_API_KEY");
    assert!(
        note(or)
            .contains("CRUSH_OPENROUTER_API_KEY stands in for OPENROUTER_API_KEY only while Crush loads its providers"),
        "{or}"
    );
    // The key sent is OPENROUTER_API_KEY's, unset here: not the CRUSH_ value.
    let eff = &or["env"]["effective"];
    assert!(eff.is_null() || eff["fp"].is_null() || eff["fp"]["last4"] != "CR09", "{eff}");
    let first = or["diagnoses"][0]["code"].as_str().unwrap_or("");
    assert!(first.starts_with("key."), "a key that is not there is the diagnosis: {or}");
    // The implicit variable of a known provider carries the same note; the note joins the others.
    let an = site(&recs, "crush", "work/app/crush.json", "/providers/anthropic");
    assert!(note(an).contains("CRUSH_ANTHROPIC_API_KEY"), "{an}");
    let saved = note(site(&recs, "crush", ".config/crush/crush.json", "/providers/openrouter"));
    assert!(saved.starts_with("written $OPENROUTER_API_KEY; a key Crush saved"), "{saved}");

    // keyhole-find --list-tools says which variables Crush reads, CRUSH_<NAME> among them.
    let out = cmd("keyhole-find", t.path()).arg("--list-tools").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let crush: Vec<&str> =
        text.lines().skip_while(|l| !l.starts_with("crush ")).skip(1).take_while(|l| l.starts_with(' ')).collect();
    assert!(crush.iter().any(|l| l.contains("reads:") && l.contains("CRUSH_<NAME>")), "{crush:#?}");
}
