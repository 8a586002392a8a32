//! Values that are not keys (docs/records.md#fingerprints): a key that lost
//! or doubled its prefix, the variable's own name, a URL, template text and
//! another provider's key, in the key slots of real tool configs. The first
//! diagnosis names what the value is, with a fix that says exactly what to
//! do; real keys of every provider in the catalogue stay unflagged. Run as
//! `find | env | classify` offline, and as the whole pipeline against the
//! imitation of OpenRouter, whose "Missing Authentication header" comes
//! after the cause.

mod util;

use std::path::Path;

use serde_json::Value;
use util::imitation::Imitation;
use util::*;

/// An OpenRouter canary whose 64 characters after `sk-or-v1-` are lower-case
/// hex, as a real key's are: `tag` is 4 hex digits.
fn or_hex(tag: &str) -> String {
    assert!(tag.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    or_canary(tag)
}

/// Realistic keys of every catalogued provider (and some it does not
/// catalogue), each holding the canary run: none of them is flagged.
fn real_keys() -> Vec<(&'static str, String)> {
    let c = CANARY_RUN;
    vec![
        ("openrouter", or_hex("9f3e")),
        ("openai", format!("sk-proj-{c}Xk2_Lm9-Qa{}T3BlbkFJ{}", "Zr7Tq1Wm".repeat(12), "b-X_Y2".repeat(5))),
        ("anthropic", format!("sk-ant-api03-{c}{}AA", "cc3_c-c9c".repeat(7))),
        ("gemini", format!("AIzaSy{c}_x-")),
        ("groq", format!("gsk_{c}WGdyb3FYQm2Lp9Xz1Rt0Vb")),
        ("xai", format!("xai-{c}{}", "Pq7Rs2Tu9Vw4".repeat(4) + "Xy3Za8")),
        ("deepseek", format!("sk-{c}0a")),
        ("mistral", format!("{c}Zq")),
        ("azure", format!("{c}9f")),
    ]
}

fn write_home(t: &TempDir, base: Option<&str>) {
    let c = CANARY_RUN;
    // Noise: Debian's .bashrc with its interactive guard, a good key of another
    // provider exported after it, and a template .env next to the real one.
    t.write(
        ".bashrc",
        format!(
            "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# If not running interactively, don't do anything\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\n\nHISTCONTROL=ignoreboth\nexport ANTHROPIC_API_KEY=sk-ant-api03-{c}{}AA\n",
            "cc3_c-c9c".repeat(7)
        ),
    );
    t.write(".profile", "# ~/.profile\nif [ -n \"$BASH_VERSION\" ]; then\n    . \"$HOME/.bashrc\"\nfi\n");
    // opencode: the key lost the `sk-or-` of its prefix.
    let lost = or_hex("0a1b");
    t.write(
        ".config/opencode/opencode.json",
        format!(
            "{{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  // copied from the dashboard\n  \"model\": \"openrouter/anthropic/claude-sonnet-4.5\",\n  \"provider\": {{\n    \"openrouter\": {{\n      \"options\": {{\n        \"apiKey\": \"{}\"\n      }}\n    }}\n  }}\n}}\n",
            &lost["sk-or-".len()..]
        ),
    );
    // Continue: one model per kind of value, and every provider's real key.
    let m = |name: &str, provider: &str, extra: &str, key: &str| {
        format!("  - name: {name}\n    provider: {provider}\n    model: some-model\n{extra}    apiKey: {key}\n")
    };
    let bare_hex = &or_hex("2c3d")["sk-or-v1-".len()..];
    let mut cfg = String::from("name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n");
    cfg += &m("varname", "openrouter", "", "OPENROUTER_API_KEY");
    cfg += &m("template", "openai", "", "\"<YOUR_KEY>\"");
    cfg += &m("url", "openrouter", "", "https://openrouter.ai/api/v1");
    cfg += &m("bare-hex", "openrouter", "", bare_hex);
    cfg += &m("foreign", "openai", "", &format!("sk-ant-api03-{c}{}AA", "cc3_c-c9c".repeat(7)));
    cfg += &m("sk-dots", "openai", "", "sk-...");
    cfg += &m("litellm-virtual", "openai", "    apiBase: http://localhost:4000\n", &format!("sk-{c}-Aq_9"));
    cfg += &m("litellm-master", "openai", "    apiBase: http://localhost:4000\n", "sk-1234");
    cfg += &m("local", "lmstudio", "    apiBase: http://localhost:1234/v1\n", "lm-studio");
    cfg += &m("local-nokey", "openai-compatible", "    apiBase: http://127.0.0.1:8080/v1\n", "sk-no-key-required");
    cfg += &m(
        "pplx",
        "openai-compatible",
        "    apiBase: https://api.perplexity.ai\n",
        &format!("pplx-{c}Ab12Cd34Ef56Gh78"),
    );
    for (p, k) in real_keys() {
        let extra = if p == "azure" { "    apiBase: https://myres.openai.azure.com\n" } else { "" };
        cfg += &m(&format!("real-{p}"), p, extra, &k);
    }
    t.write(".continue/config.yaml", cfg);
    // Aider: the project's .env doubled the prefix; its template lies beside it.
    t.write("proj/.aider.conf.yml", "# aider settings\nmodel: openrouter/anthropic/claude-sonnet-4.5\n");
    let doubled = format!("sk-or-v1-{}", or_hex("5e6f"));
    t.write("proj/.env", format!("# OpenRouter\nOPENROUTER_API_KEY={doubled}\n"));
    t.write("proj/.env.example", "OPENROUTER_API_KEY=your-api-key-here\n");
    // LiteLLM: template text with the real prefix; the documented master key.
    let api_base = base.map(|b| format!("      api_base: {b}/api/v1\n")).unwrap_or_default();
    t.write(
        "proxy/config.yaml",
        format!(
            "model_list:\n  - model_name: sonnet\n    litellm_params:\n      model: openrouter/anthropic/claude-sonnet-4.5\n      api_key: sk-or-v1-xxxxxxxxxxxxxxxx\n{api_base}general_settings:\n  master_key: sk-1234\n"
        ),
    );
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
}

/// `find | env | [probe |] classify` on the home; the site records.
fn pipeline(home: &Path, probe: Option<&str>) -> Vec<Value> {
    let envf = home.join("analysed.env");
    std::fs::write(&envf, "SHELL=/bin/bash\nLANG=C.UTF-8\n").unwrap();
    let probe_args = probe.map(|base| format!("--provider-url openrouter={base}/api/v1"));
    run_pipeline(&pipeline_command(home, &envf, "", probe_args.as_deref()))
}

fn diags(s: &Value) -> Vec<(String, String, String)> {
    s["diagnoses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_string(),
                d["summary"].as_str().unwrap_or("").to_string(),
                d["fix"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The first diagnosis of a site: (code, summary, first fix).
fn first(s: &Value) -> (String, String, String) {
    diags(s).into_iter().next().unwrap_or_else(|| panic!("no diagnosis: {s}"))
}

fn no_key_diagnosis(s: &Value) {
    let ds = diags(s);
    assert!(ds.iter().all(|(c, _, _)| !c.starts_with("key.")), "{}: {ds:?}", s["id"]);
    let fp = &s["key"]["fp"];
    assert!(fp.is_null() || fp["flaws"] == serde_json::json!([]), "{}: {fp}", s["id"]);
}

#[test]
fn values_that_are_not_keys_are_named_first() {
    let t = TempDir::new("values");
    write_home(&t, None);
    let recs = pipeline(t.path(), None);
    let names = continue_names();
    let cont = |name: &str| {
        let i = names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no continue model {name}"));
        site(&recs, "continue", ".continue/config.yaml", &format!("/models/{i}"))
    };

    let (code, summary, fix) = first(site(&recs, "opencode", "opencode/opencode.json", "/provider/openrouter"));
    assert_eq!(code, "key.malformed");
    assert!(summary.starts_with("the key lost its sk-or-v1- prefix"), "{summary}");
    assert_eq!(fix, "the key lost its sk-or-v1- prefix: copy it again whole from https://openrouter.ai/settings/keys");

    let (code, summary, fix) = first(cont("bare-hex"));
    assert_eq!(
        (code.as_str(), fix.as_str()),
        (
            "key.malformed",
            "the key lost its sk-or-v1- prefix: copy it again whole from https://openrouter.ai/settings/keys"
        )
    );
    assert!(summary.starts_with("the key lost its sk-or-v1- prefix"), "{summary}");

    let (code, summary, fix) = first(cont("varname"));
    assert_eq!(code, "key.placeholder");
    assert_eq!(summary, "the key is the variable's name OPENROUTER_API_KEY, not its value");
    assert!(fix.contains("the value of OPENROUTER_API_KEY"), "{fix}");

    let (code, summary, fix) = first(cont("template"));
    assert_eq!(
        (code.as_str(), summary.as_str()),
        ("key.placeholder", "the key is template text <YOUR_KEY>, not a key")
    );
    assert!(fix.contains("https://platform.openai.com/account/api-keys"), "{fix}");

    let (code, summary, fix) = first(cont("sk-dots"));
    assert_eq!(code, "key.placeholder");
    assert!(summary.starts_with("the key is template text sk-…"), "{summary}");
    assert!(fix.starts_with("replace the template with your OpenAI key"), "{fix}");

    let (code, summary, fix) = first(cont("url"));
    assert_eq!((code.as_str(), summary.as_str()), ("key.malformed", "the key is a URL, not a key"));
    assert!(fix.contains("base URL"), "{fix}");

    let (code, summary, _) = first(cont("foreign"));
    assert_eq!(code, "key.wrong_provider");
    assert!(summary.contains("Anthropic key"), "{summary}");

    // Aider's .env doubled the prefix: through keyhole-env's effective value.
    let (code, summary, fix) = first(site(&recs, "aider", "proj/.aider.conf.yml", ""));
    assert_eq!(code, "key.malformed");
    assert!(summary.starts_with("the key carries its prefix twice"), "{summary}");
    assert_eq!(fix, "remove the extra sk-or-v1- at the start of the key");
    let ds = diags(site(&recs, "aider", "proj/.aider.conf.yml", ""));
    assert!(ds.iter().all(|(_, s, _)| !s.contains("wrong_length")), "the doubling explains the length: {ds:?}");

    let (code, summary, _) = first(site(&recs, "litellm", "proxy/config.yaml", "/model_list/0"));
    assert_eq!(code, "key.placeholder");
    assert!(summary.starts_with("the key is template text sk-or-v1-…"), "{summary}");

    // Real keys, LiteLLM's keys and any token to a local server: nothing.
    for name in ["litellm-virtual", "litellm-master", "local", "local-nokey", "pplx"] {
        no_key_diagnosis(cont(name));
    }
    for (p, _) in real_keys() {
        let s = cont(&format!("real-{p}"));
        assert_eq!(s["provider"], p, "{}", s["id"]);
        no_key_diagnosis(s);
    }
    no_key_diagnosis(site(&recs, "litellm", "proxy/config.yaml", "/general_settings/master_key"));
    no_key_diagnosis(site(&recs, "shell", ".bashrc", ""));

    // keyhole doctor runs the same stages in-process: the same first line for every site.
    let h = t.path();
    let mut c = cmd("keyhole", h);
    c.arg("doctor").arg("--offline").arg("--json").arg("--home").arg(h);
    c.arg("--env-file").arg(h.join("analysed.env")).arg("--proc-root").arg(h.join("proc"));
    let doctor = run(c);
    assert_no_canary("doctor", &doctor.stdout);
    let firsts = |rs: &[Value]| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = rs
            .iter()
            .filter(|r| r["type"] == "site")
            .map(|r| {
                (r["id"].as_str().unwrap_or("").to_string(), diags(r).first().map(|d| d.0.clone()).unwrap_or_default())
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(firsts(&doctor.records), firsts(&recs));
}

/// The Continue models of [`write_home`], in order.
fn continue_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "varname",
        "template",
        "url",
        "bare-hex",
        "foreign",
        "sk-dots",
        "litellm-virtual",
        "litellm-master",
        "local",
        "local-nokey",
        "pplx",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(real_keys().into_iter().map(|(p, _)| format!("real-{p}")));
    v
}

#[test]
fn the_cause_comes_before_openrouters_answer() {
    let known = or_hex("9f3e");
    let imi = Imitation::start(&known, None);
    let t = TempDir::new("values-probe");
    write_home(&t, Some(&imi.base()));
    let recs = pipeline(t.path(), Some(&imi.base()));
    // (site, the cause, the imitation's answer after it).
    let check = |s: &Value, code: &str, answer: (&str, &str)| {
        let ds = diags(s);
        assert_eq!(ds.first().map(|d| d.0.as_str()), Some(code), "{}: {ds:?}", s["id"]);
        let at = ds.iter().position(|d| d.0 == answer.0);
        assert!(at.is_some_and(|i| i > 0), "{}: the API's answer comes after the cause: {ds:?}", s["id"]);
        let evidence = s["diagnoses"][at.unwrap()]["evidence"].to_string();
        assert!(evidence.contains(answer.1), "{}: the imitation's answer: {evidence}", s["id"]);
    };
    let missing = ("auth.missing", "Missing Authentication header");
    check(site(&recs, "opencode", "opencode/opencode.json", "/provider/openrouter"), "key.malformed", missing);
    check(site(&recs, "continue", ".continue/config.yaml", "/models/0"), "key.placeholder", missing);
    check(site(&recs, "continue", ".continue/config.yaml", "/models/2"), "key.malformed", missing);
    check(site(&recs, "continue", ".continue/config.yaml", "/models/3"), "key.malformed", missing);
    // The imitation takes anything starting sk-or-v1- for a key it does not know.
    let unknown = ("auth.invalid_key", "User not found.");
    check(site(&recs, "litellm", "proxy/config.yaml", "/model_list/0"), "key.placeholder", unknown);
    // The real key works, and says so first.
    let ok = site(&recs, "continue", ".continue/config.yaml", &format!("/models/{}", continue_names().len() - 9));
    assert_eq!(first(ok).0, "ok", "{:?}", diags(ok));
}
