//! Static analysis of shell startup files (docs/launch-contexts.md#startup-file-guards):
//! which assignments run in which launch context — interactive-only guards,
//! interactive-only blocks, functions, conditionals, `set -a`, sourced files.
//! Nothing is executed; this is a heuristic reader, not a shell.

use std::sync::LazyLock;

use regex::Regex;

use crate::shell::{self, Assignment, Dialect};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardKind {
    /// `case $- in *i*)…`, `[[ $- != *i* ]] && return`, `[ -z "$PS1" ] && return`…:
    /// stops every non-interactive shell.
    Interactive,
    /// `[ -t 0 ] || return`: also stops an interactive shell whose stdin is not a
    /// terminal (VS Code's `-i -l -c` resolver runs with stdin /dev/null).
    Tty,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ctx {
    pub in_function: bool,
    /// The condition text of the innermost enclosing `if`/`case`/`&&`, if any.
    pub conditional: Option<String>,
    /// Inside `if [[ $- == *i* ]]`, `[ -n "$PS1" ] &&`, fish `status is-interactive`.
    pub interactive_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Assign {
        a: Assignment,
        ctx: Ctx,
    },
    /// `export NAME…` without a value: exports earlier assignments.
    ExportNames {
        names: Vec<String>,
        line: u32,
        ctx: Ctx,
    },
    /// From here on, non-interactive shells (or, for a tty guard, shells without a tty) have returned.
    Guard {
        line: u32,
        kind: GuardKind,
    },
    /// `. FILE` / `source FILE`, as written (`~` and `$HOME` not yet expanded).
    Source {
        path: String,
        line: u32,
        ctx: Ctx,
    },
    /// `set -a` (true) / `set +a` (false).
    Allexport {
        on: bool,
        line: u32,
    },
}

#[derive(Debug)]
struct Block {
    kind: &'static str,
    interactive: bool,
    cond: Option<String>,
    function: bool,
    line: u32,
    /// For a guard candidate: `case $- in` or `if <non-interactive test>`.
    guard_candidate: Option<GuardKind>,
    body: String,
}

impl Block {
    /// The `{ … }` body of a shell function.
    fn function_body(line: u32) -> Block {
        Block {
            kind: "{",
            interactive: false,
            cond: None,
            function: true,
            line,
            guard_candidate: None,
            body: String::new(),
        }
    }
}

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).expect("startup regex"));
    };
}

re!(
    NONINTERACTIVE_TEST,
    r#"(?x)
    (?:\[\[?|test)\s+-z\s+"?\$\{?PS1(?::?-)?\}?"?
  | \[\[\s+"?\$-"?\s+!=\s+"?\*i\*"?
  | \[\s+"\$\{-\#\*i\}"\s+=\s+"\$-"
  | ^\s*not\s+status\s+(?:--)?is-interactive
"#
);
re!(
    INTERACTIVE_TEST,
    r#"(?x)
    (?:\[\[?|test)\s+-n\s+"?\$\{?PS1(?::?-)?\}?"?
  | \[\s+"\$\{?PS1(?::?-)?\}?"\s+\]
  | \[\[\s+"?\$-"?\s+==?\s+"?\*i\*"?
  | (?:^|\s)status\s+(?:--)?is-interactive
"#
);
re!(CASE_DASH, r#"^"?\$\{?-\}?"?\s+in"#);
re!(TTY_TEST, r#"(?:\[\s+-t\s+[0-2]\s+\]|tty\s+-s)"#);
re!(GUARD_AND, r#"^\s*(?P<cond>.+?)\s*(?P<op>&&|\|\||;\s*or|;\s*and)\s*(?:return|exit)\b"#);
re!(IF_ONE_LINE, r#"^\s*if\s+(?P<cond>.+?)\s*;\s*then\s+(?:return|exit)\b[^;]*;\s*fi\b"#);
re!(
    FUNC_DEF,
    r#"^\s*(?:function\s+[A-Za-z_][\w.:-]*\s*(?:\(\s*\))?|[A-Za-z_][\w.:-]*\s*\(\s*\))\s*(?P<brace>\{)?\s*$"#
);
re!(FUNC_DEF_INLINE, r#"^\s*(?:function\s+)?[A-Za-z_][\w.:-]*\s*\(\s*\)\s*\{.*\}\s*;?\s*$"#);
re!(SOURCE, r#"(?:^|[;&|{(]\s*|\bthen\s+|\bdo\s+|\belse\s+)(?:source|\.)\s+(?P<path>"[^"]+"|'[^']+'|[^\s;&|)]+)"#);
re!(BARE_EXPORT, r#"^\s*export\s+(?P<names>[A-Za-z_]\w*(?:\s+[A-Za-z_]\w*)*)\s*;?\s*$"#);
re!(AND_CHAIN, r#"^\s*(?P<cond>.+?)\s*(?:&&|\|\|)\s*(?:export|declare|typeset|source\s|\.\s|[A-Za-z_]\w*=)"#);

fn first_word(l: &str) -> &str {
    l.trim_start().split(|c: char| c.is_whitespace() || c == ';').next().unwrap_or("")
}

/// The open blocks, with what each line inside needs from all of them
/// (inside a function? interactive only? the innermost condition?) kept
/// level by level, so that a line costs the same however deep it is
/// (20,000 unclosed `if`s cost seconds when each line walked the stack).
#[derive(Default)]
struct Blocks {
    stack: Vec<Block>,
    /// Per level: a function at or above it, an interactive-only block at or
    /// above it, the innermost level at or above it with a condition.
    acc: Vec<(bool, bool, Option<usize>)>,
}

impl Blocks {
    fn push(&mut self, b: Block) {
        let (f, i, c) = self.acc.last().copied().unwrap_or((false, false, None));
        let c = if b.cond.is_some() { Some(self.stack.len()) } else { c };
        self.acc.push((f || b.function, i || b.interactive, c));
        self.stack.push(b);
    }
    fn pop(&mut self) -> Option<Block> {
        self.acc.pop();
        self.stack.pop()
    }
    fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }
    /// A guard candidate is only ever opened at the top level.
    fn guard_candidate(&mut self) -> Option<&mut Block> {
        self.stack.first_mut().filter(|b| b.guard_candidate.is_some())
    }
    fn in_function(&self) -> bool {
        self.acc.last().is_some_and(|a| a.0)
    }
    fn interactive(&self) -> bool {
        self.acc.last().is_some_and(|a| a.1)
    }
    fn cond(&self) -> Option<String> {
        self.acc.last().and_then(|a| a.2).and_then(|k| self.stack[k].cond.clone())
    }
}

/// Analyse a startup file into items, in file order.
pub fn analyze(text: &str, dialect: Dialect) -> Vec<Item> {
    let mut out = Vec::new();
    let mut stack = Blocks::default();
    let mut heredoc: Option<String> = None;
    let mut pending_function = false;
    for (line, l) in shell::logical_lines(text) {
        if let Some(end) = &heredoc {
            if l.trim() == end {
                heredoc = None;
            }
            continue;
        }
        if let Some(i) = l.find("<<") {
            let tag: String = l[i + 2..]
                .trim_start_matches('-')
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !tag.is_empty() && !l.contains("<<<") {
                heredoc = Some(tag);
            }
        }
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(b) = stack.guard_candidate() {
            b.body.push_str(t);
            b.body.push('\n');
        }
        let top_level = stack.is_empty();
        let in_function = stack.in_function();
        let ctx_of = |stack: &Blocks, extra_cond: Option<String>, extra_interactive: bool| Ctx {
            in_function: stack.in_function(),
            conditional: extra_cond.or_else(|| stack.cond()),
            interactive_only: extra_interactive || stack.interactive(),
        };

        // Guards written on one line.
        if top_level && !in_function {
            if let Some(c) = GUARD_AND.captures(t) {
                let cond = &c["cond"];
                let op = c["op"].replace(' ', "");
                let stops_noninteractive = (op == "&&" || op == ";and") && NONINTERACTIVE_TEST.is_match(cond)
                    || (op == "||" || op == ";or") && INTERACTIVE_TEST.is_match(cond);
                if stops_noninteractive {
                    out.push(Item::Guard { line, kind: GuardKind::Interactive });
                    continue;
                }
                if op == "||" && TTY_TEST.is_match(cond) {
                    out.push(Item::Guard { line, kind: GuardKind::Tty });
                    continue;
                }
            }
            if let Some(c) = IF_ONE_LINE.captures(t) {
                if NONINTERACTIVE_TEST.is_match(&c["cond"]) {
                    out.push(Item::Guard { line, kind: GuardKind::Interactive });
                    continue;
                }
            }
        }

        // Block structure.
        let fw = first_word(t);
        let fish = dialect == Dialect::Fish;
        if FUNC_DEF_INLINE.is_match(t) && !fish {
            continue; // a one-line function body never runs at startup
        }
        if !fish && FUNC_DEF.is_match(t) {
            let has_brace = FUNC_DEF.captures(t).is_some_and(|c| c.name("brace").is_some());
            if has_brace {
                stack.push(Block::function_body(line));
            } else {
                pending_function = true;
            }
            continue;
        }
        if pending_function && t.starts_with('{') {
            pending_function = false;
            stack.push(Block::function_body(line));
            continue;
        }
        match (fw, fish) {
            ("if", _)
            | ("while", _)
            | ("until", _)
            | ("for", _)
            | ("case", false)
            | ("switch", true)
            | ("begin", true)
            | ("function", true) => {
                let cond_text = t.split("; then").next().unwrap_or(t).trim_start_matches(fw).trim().to_string();
                let interactive = fw == "if" && INTERACTIVE_TEST.is_match(&cond_text) && !cond_text.contains("not ");
                let guard_candidate = if top_level && !in_function {
                    let dash_case = fw == "case" && CASE_DASH.is_match(&cond_text);
                    if dash_case || (fw == "if" && NONINTERACTIVE_TEST.is_match(&cond_text)) {
                        Some(GuardKind::Interactive)
                    } else if fw == "if" && TTY_TEST.is_match(&cond_text) && cond_text.starts_with('!') {
                        Some(GuardKind::Tty)
                    } else {
                        None
                    }
                } else {
                    None
                };
                let cond = (!interactive && guard_candidate.is_none()).then(|| format!("{fw} {cond_text}"));
                let kind = match fw {
                    "if" => "if",
                    "case" | "switch" => "case",
                    "begin" => "begin",
                    "function" => "function",
                    _ => "loop",
                };
                // A whole block on one line (`if …; then …; fi`) opens and closes here.
                let closes_here = !fish
                    && ((kind == "if" && t.ends_with("fi"))
                        || (kind == "case" && t.ends_with("esac"))
                        || (kind == "loop" && t.ends_with("done")));
                let block = Block {
                    kind,
                    interactive,
                    cond,
                    function: fw == "function",
                    line,
                    guard_candidate,
                    body: String::new(),
                };
                if closes_here {
                    let ctx = Ctx {
                        in_function,
                        conditional: block.cond.clone(),
                        interactive_only: block.interactive || stack.interactive(),
                    };
                    push_line_items(t, line, dialect, ctx, &mut out);
                    continue;
                }
                stack.push(block);
                // Fall through: `if …; then export X=1` has an assignment after `then`.
                if let Some(rest) = t.split_once("; then").map(|(_, r)| r.trim()).filter(|r| !r.is_empty()) {
                    let ctx = ctx_of(&stack, None, false);
                    push_line_items(rest, line, dialect, ctx, &mut out);
                }
                continue;
            }
            ("fi", false) | ("esac", false) | ("done", false) | ("}", false) | ("end", true) => {
                if let Some(b) = stack.pop() {
                    if let Some(kind) = b.guard_candidate {
                        let is_guard = match b.kind {
                            "case" => b.body.contains("*i*)") && b.body.contains("return"),
                            _ => b.body.lines().filter(|l| !["fi", "end", "else"].contains(&l.trim())).all(|l| {
                                let w = first_word(l);
                                w == "return" || w == "exit"
                            }),
                        };
                        if is_guard {
                            out.push(Item::Guard { line: b.line, kind });
                        }
                    }
                }
                continue;
            }
            ("{", false) => {
                stack.push(Block {
                    kind: "{",
                    interactive: false,
                    cond: None,
                    function: false,
                    line,
                    guard_candidate: None,
                    body: String::new(),
                });
                continue;
            }
            _ => {}
        }
        // `[ -n "$PS1" ] && export X=…` and other one-line conditions.
        let (cond, interactive) = match AND_CHAIN.captures(t) {
            Some(c) if INTERACTIVE_TEST.is_match(&c["cond"]) => (None, true),
            Some(c) => (Some(c["cond"].to_string()), false),
            None => (None, false),
        };
        let ctx = ctx_of(&stack, cond, interactive);
        push_line_items(t, line, dialect, ctx, &mut out);
    }
    out
}

fn push_line_items(t: &str, line: u32, dialect: Dialect, ctx: Ctx, out: &mut Vec<Item>) {
    if dialect == Dialect::Posix {
        if let Some(c) = BARE_EXPORT.captures(t) {
            let names = c["names"].split_whitespace().map(str::to_string).collect();
            out.push(Item::ExportNames { names, line, ctx });
            return;
        }
        if t.starts_with("set ") {
            if t.contains(" -a") || t.contains("-o allexport") {
                out.push(Item::Allexport { on: true, line });
            } else if t.contains(" +a") || t.contains("+o allexport") {
                out.push(Item::Allexport { on: false, line });
            }
        }
        for c in SOURCE.captures_iter(t) {
            let p = c["path"].trim_matches(|ch| ch == '"' || ch == '\'').to_string();
            out.push(Item::Source { path: p, line, ctx: ctx.clone() });
        }
    } else if let Some(c) = SOURCE.captures(t) {
        out.push(Item::Source { path: c["path"].trim_matches('"').to_string(), line, ctx: ctx.clone() });
    }
    for mut a in shell::assignments(t, dialect) {
        a.line = line;
        out.push(Item::Assign { a, ctx: ctx.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards(text: &str) -> Vec<(u32, GuardKind)> {
        analyze(text, Dialect::Posix)
            .into_iter()
            .filter_map(|i| match i {
                Item::Guard { line, kind } => Some((line, kind)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_guard_form_is_found() {
        let debian = "# c\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\nexport X=1\n";
        assert_eq!(guards(debian), vec![(2, GuardKind::Interactive)]);
        for g in [
            "[ -z \"$PS1\" ] && return",
            "[[ $- != *i* ]] && return",
            "[[ $- == *i* ]] || return",
            "[ -z \"${PS1-}\" ] && return",
            "test -z \"$PS1\" && return",
            "if [ -z \"$PS1\" ]; then return; fi",
            "[ \"${-#*i}\" = \"$-\" ] && return",
        ] {
            assert_eq!(guards(&format!("export A=1\n{g}\nexport B=2\n")), vec![(2, GuardKind::Interactive)], "{g}");
        }
        assert_eq!(guards("[ -t 0 ] || return\n"), vec![(1, GuardKind::Tty)]);
        assert_eq!(guards("if [[ $- != *i* ]]; then\n  return\nfi\n"), vec![(1, GuardKind::Interactive)]);
        // Not guards: inside a function, or a case on something else.
        assert!(guards("f() {\n [ -z \"$PS1\" ] && return\n}\ncase $1 in\n *) return;;\nesac\n").is_empty());
    }

    #[test]
    fn deep_nesting_is_read_in_linear_time() {
        let start = std::time::Instant::now();
        let text = format!("{}export K=1\n", "if [ -f /x ]; then\n".repeat(40_000));
        let items = analyze(&text, Dialect::Posix);
        assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
        match items.last() {
            Some(Item::Assign { ctx, .. }) => assert_eq!(ctx.conditional.as_deref(), Some("if [ -f /x ]")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn contexts_of_assignments() {
        let text = "f() {\n  export FN=1\n}\nif [[ $- == *i* ]]; then\n  export INT=1\nfi\nif [ -f /x ]; then\n  export COND=1\nfi\n[ -n \"$PS1\" ] && export INT2=1\nset -a\nPLAIN=1\nset +a\n[ -f ~/.env ] && . ~/.env\nexport LATER\n";
        let items = analyze(text, Dialect::Posix);
        let ctx = |name: &str| {
            items
                .iter()
                .find_map(|i| match i {
                    Item::Assign { a, ctx } if a.name == name => Some(ctx.clone()),
                    _ => None,
                })
                .unwrap()
        };
        assert!(ctx("FN").in_function);
        assert!(ctx("INT").interactive_only);
        assert!(ctx("COND").conditional.as_deref().unwrap().contains("-f /x"));
        assert!(ctx("INT2").interactive_only);
        assert!(items.contains(&Item::Allexport { on: true, line: 11 }));
        assert!(items.iter().any(
            |i| matches!(i, Item::Source { path, line: 14, ctx } if path == "~/.env" && ctx.conditional.is_some())
        ));
        assert!(items
            .iter()
            .any(|i| matches!(i, Item::ExportNames { names, .. } if names == &vec!["LATER".to_string()])));
    }

    #[test]
    fn heredocs_are_skipped_and_fish_blocks_tracked() {
        let items = analyze("cat <<EOF\nexport NOT=1\nEOF\nexport YES=1\n", Dialect::Posix);
        let names: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Assign { a, .. } => Some(a.name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(names, vec!["YES"]);
        let items = analyze("if status is-interactive\n  set -gx A 1\nend\nset -gx B 2\n", Dialect::Fish);
        let a = items
            .iter()
            .find_map(|i| match i {
                Item::Assign { a, ctx } if a.name == "A" => Some(ctx.clone()),
                _ => None,
            })
            .unwrap();
        assert!(a.interactive_only);
    }
}
