//! Substitution syntaxes, as data. The same text means different things to
//! different tools: `${env:X}` is expanded by none of the catalogued tools,
//! `${{ secrets.X }}` only by Continue, `os.environ/X` only by LiteLLM.
//! A tool entry lists the syntaxes it expands; everything else it sends as text.

use std::sync::LazyLock;

use regex::Regex;

use crate::record::KeyRef;

pub struct Syntax {
    /// The name written in `key.syntax`.
    pub name: &'static str,
    /// How a person writes it, for notes.
    pub form: &'static str,
    pattern: &'static str,
    /// What the captured group is.
    pub yields: Yields,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Yields {
    Var,
    File,
    Command,
}

pub static SYNTAXES: &[Syntax] = &[
    Syntax {
        name: "secrets",
        form: "${{ secrets.NAME }}",
        pattern: r"\$\{\{\s*secrets\.([^}\s]+)\s*\}\}",
        yields: Yields::Var,
    },
    Syntax {
        name: "inputs",
        form: "${{ inputs.NAME }}",
        pattern: r"\$\{\{\s*inputs\.([^}\s]+)\s*\}\}",
        yields: Yields::Var,
    },
    Syntax {
        name: "vscode_env",
        form: "${env:NAME}",
        pattern: r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}",
        yields: Yields::Var,
    },
    Syntax {
        name: "os_environ",
        form: "os.environ/NAME",
        pattern: r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$",
        yields: Yields::Var,
    },
    Syntax {
        name: "brace_env",
        form: "{env:NAME}",
        pattern: r"(?:^|[^$])\{env:([A-Za-z_][A-Za-z0-9_]*)\}",
        yields: Yields::Var,
    },
    Syntax { name: "brace_file", form: "{file:PATH}", pattern: r"\{file:([^}]+)\}", yields: Yields::File },
    Syntax {
        name: "dollar_brace",
        form: "${NAME}",
        pattern: r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}",
        yields: Yields::Var,
    },
    Syntax { name: "dollar", form: "$NAME", pattern: r"^\$([A-Za-z_][A-Za-z0-9_]*)$", yields: Yields::Var },
    Syntax { name: "cmd", form: "cmd:COMMAND", pattern: r"^cmd:(.+)$", yields: Yields::Command },
];

static COMPILED: LazyLock<Vec<Regex>> =
    LazyLock::new(|| SYNTAXES.iter().map(|s| Regex::new(s.pattern).expect("syntax regex")).collect());

/// Whether `name` is a variable name: `[A-Za-z_][A-Za-z0-9_]*`, the only
/// names keyhole treats as variables (docs/catalogue.md#substitution-syntaxes).
/// Anything else is text: never looked up, never handed to a shell.
pub fn is_identifier(name: &str) -> bool {
    let mut c = name.bytes();
    c.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') && c.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub fn get(name: &str) -> Option<&'static Syntax> {
    SYNTAXES.iter().find(|s| s.name == name)
}

/// The first syntax found in `value`, with the captured name.
pub fn detect(value: &str) -> Option<(&'static Syntax, String)> {
    SYNTAXES
        .iter()
        .zip(COMPILED.iter())
        .find_map(|(s, re)| re.captures(value).and_then(|c| c.get(1)).map(|m| (s, m.as_str().to_string())))
}

/// Whether a variable name is acceptable to a syntax variant a tool uses
/// (OpenClaw expands only upper-case `${NAME}`).
fn accepts(tool_syntax: &str, syntax: &Syntax, var: &str) -> bool {
    match tool_syntax {
        "dollar_brace_upper" => {
            syntax.name == "dollar_brace"
                && var.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                && var.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        }
        other => other == syntax.name,
    }
}

/// Classify a key field's text for a tool that expands `expands`.
/// Returns `None` when the value holds no substitution syntax at all (a literal).
pub fn classify(tool: &str, expands: &[&str], value: &str) -> Option<KeyRef> {
    let (syntax, captured) = detect(value)?;
    if syntax.yields == Yields::Var && !is_identifier(&captured) {
        // `${{ secrets.X;touch … }}`: the shape of a reference around a name
        // that is none. No variable is read; the tool sends the text. The
        // note does not repeat the text (it is in `key.text`).
        let note = format!(
            "{tool}: the name in this {} is not a variable name: no variable is read, the text is sent as it is",
            syntax.form
        );
        return Some(KeyRef::placeholder(value, None, note));
    }
    if expands.iter().any(|t| accepts(t, syntax, &captured)) {
        return Some(match syntax.yields {
            Yields::Var => KeyRef::env(&captured, Some(syntax.name)),
            Yields::File => {
                let mut k = KeyRef::file(&captured);
                k.syntax = Some(syntax.name.into());
                k
            }
            Yields::Command => {
                let mut k = KeyRef::command(&captured);
                k.syntax = Some(syntax.name.into());
                k
            }
        });
    }
    if expands.contains(&"dollar_brace_upper") && syntax.name == "dollar_brace" {
        let note = format!("{tool} expands ${{NAME}} only for upper-case names: {value} stays literal");
        return Some(KeyRef::placeholder(value, Some(&captured), note));
    }
    let forms: Vec<&str> = expands
        .iter()
        .filter_map(|t| match *t {
            "dollar_brace_upper" => Some("${NAME} (upper-case names only)"),
            t => get(t).map(|s| s.form),
        })
        .collect();
    let note = if forms.is_empty() {
        format!("{tool} expands no variables in this field: it sends {} as it is", syntax.form)
    } else {
        format!("{tool} expands {}, not {}", forms.join(" and "), syntax.form)
    };
    let var = (syntax.yields == Yields::Var).then_some(captured.as_str());
    Some(KeyRef::placeholder(value, var, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_env_is_a_placeholder() {
        let k = classify("continue", &["secrets"], "${env:OPENROUTER_API_KEY}").unwrap();
        assert_eq!(k.from, "placeholder");
        assert_eq!(k.var.as_deref(), Some("OPENROUTER_API_KEY"));
        assert_eq!(k.note.as_deref(), Some("continue expands ${{ secrets.NAME }}, not ${env:NAME}"));
        let k = classify("continue", &["secrets"], "${{ secrets.OPENROUTER_API_KEY }}").unwrap();
        assert_eq!((k.from.as_str(), k.syntax.as_deref()), ("env", Some("secrets")));
    }

    #[test]
    fn litellm_and_openclaw() {
        let k = classify("litellm", &["os_environ"], "os.environ/OPENROUTER_API_KEY").unwrap();
        assert_eq!(k.from, "env");
        let k = classify("litellm", &["os_environ"], "${OPENROUTER_API_KEY}").unwrap();
        assert_eq!(k.from, "placeholder");
        assert_eq!(classify("openclaw", &["dollar_brace_upper"], "${OR_KEY}").unwrap().from, "env");
        assert_eq!(classify("openclaw", &["dollar_brace_upper"], "${or_key}").unwrap().from, "placeholder");
        assert!(classify("x", &[], "sk-or-v1-abc").is_none());
        let k = classify("opencode", &["brace_env", "brace_file"], "{file:~/.secrets/or}").unwrap();
        assert_eq!((k.from.as_str(), k.path.as_deref()), ("file", Some("~/.secrets/or")));
    }

    #[test]
    fn only_identifiers_are_variables() {
        for name in ["OPENROUTER_API_KEY", "_x", "a1"] {
            assert!(is_identifier(name), "{name}");
        }
        for name in ["", "1A", "X;touch$IFS/tmp/p;true", "X`id`", "$(id)", "X'", "A-B", "A.B", "org/pkg/NAME", "É"] {
            assert!(!is_identifier(name), "{name}");
        }
        for text in [
            "${{ secrets.X;touch$IFS/tmp/p;true }}",
            "${{ secrets.X`touch$IFS/tmp/p` }}",
            "${{ secrets.$(touch$IFS/tmp/p) }}",
            "${{ inputs.X';touch$IFS/tmp/p;' }}",
            "${{ secrets.sk-or-v1-abc }}",
        ] {
            for (tool, expands) in [("continue", &["secrets", "inputs"][..]), ("aider", &[][..])] {
                let k = classify(tool, expands, text).unwrap();
                assert_eq!((k.from.as_str(), k.var.as_deref(), k.text.as_deref()), ("placeholder", None, Some(text)));
                assert!(k.note.as_deref().is_some_and(|n| n.contains("not a variable name") && !n.contains("tmp")));
            }
        }
        // Every syntax's variable part: the other patterns only match identifiers.
        for text in ["${env:X;y}", "{env:X;y}", "${X;y}", "$X;y", "os.environ/X;y"] {
            assert!(classify("t", &["vscode_env", "brace_env", "dollar_brace", "dollar", "os_environ"], text)
                .is_none_or(|k| k.var.as_deref().is_none_or(is_identifier)));
        }
    }
}
