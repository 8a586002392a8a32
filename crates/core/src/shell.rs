//! Static reading of shell startup files: which variables are assigned,
//! where, whether exported, and what the value is made of. Nothing is
//! executed. Bash/sh/zsh syntax, plus fish's `set -x`.

/// What a value is made of, once quotes are removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellValue {
    /// Plain text: the value the shell assigns.
    Literal(String),
    /// Exactly one variable: `$X`, `${X}`, `"$X"`.
    Var(String),
    /// A command substitution: `$(cat ~/.key)` or backticks.
    Command(String),
    /// Text mixed with expansions; `raw` is the source text.
    Mixed { raw: String, vars: Vec<String> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub value: ShellValue,
    /// 1-based line of the assignment.
    pub line: u32,
    /// `export X=…`, `declare -x`, `set -gx` (fish), or `export X` after a plain assignment.
    pub exported: bool,
    /// `X=v cmd`: the variable is set for that one command only.
    pub command_prefix: bool,
    /// fish `set -U`: a universal variable.
    pub universal: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Posix,
    Fish,
}

/// A word with its quoting removed, and what expansions it holds.
#[derive(Clone, Debug, Default)]
struct Word {
    raw: String,
    text: String,
    vars: Vec<String>,
    commands: Vec<String>,
    has_expansion: bool,
}

/// Split one logical line into words and control operators.
fn lex(line: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut cur = Word::default();
    let mut in_word = false;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let flush = |cur: &mut Word, in_word: &mut bool, words: &mut Vec<Word>| {
        if *in_word {
            words.push(std::mem::take(cur));
            *in_word = false;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                flush(&mut cur, &mut in_word, &mut words);
                i += 1;
            }
            '#' if !in_word => break,
            ';' | '&' | '|' | '(' | ')' => {
                flush(&mut cur, &mut in_word, &mut words);
                let mut op = c.to_string();
                if i + 1 < chars.len() && (chars[i + 1] == c) && c != '(' && c != ')' {
                    op.push(c);
                    i += 1;
                }
                words.push(Word { raw: op.clone(), text: op, ..Default::default() });
                i += 1;
            }
            '\'' => {
                in_word = true;
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    cur.text.push(chars[i]);
                    i += 1;
                }
                i += 1;
                cur.raw.extend(&chars[start..i.min(chars.len())]);
            }
            '"' => {
                in_word = true;
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() && matches!(chars[i + 1], '"' | '\\' | '$' | '`') {
                        cur.text.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if chars[i] == '$' || chars[i] == '`' {
                        i = expansion(&chars, i, &mut cur);
                        continue;
                    }
                    cur.text.push(chars[i]);
                    i += 1;
                }
                i += 1;
                cur.raw.extend(&chars[start..i.min(chars.len())]);
            }
            '\\' => {
                in_word = true;
                if i + 1 < chars.len() {
                    cur.text.push(chars[i + 1]);
                    cur.raw.extend(&chars[i..i + 2]);
                }
                i += 2;
            }
            '$' | '`' => {
                in_word = true;
                let start = i;
                i = expansion(&chars, i, &mut cur);
                cur.raw.extend(&chars[start..i.min(chars.len())]);
            }
            _ => {
                in_word = true;
                cur.text.push(c);
                cur.raw.push(c);
                i += 1;
            }
        }
    }
    flush(&mut cur, &mut in_word, &mut words);
    words
}

/// Read one `$…` or backtick expansion starting at `i`; return the index after it.
fn expansion(chars: &[char], i: usize, w: &mut Word) -> usize {
    w.has_expansion = true;
    if chars[i] == '`' {
        let end = chars[i + 1..].iter().position(|&c| c == '`').map_or(chars.len(), |p| i + 1 + p);
        w.commands.push(chars[i + 1..end].iter().collect());
        return end + 1;
    }
    let next = chars.get(i + 1).copied();
    match next {
        Some('(') => {
            let mut depth = 0;
            let mut j = i + 1;
            while j < chars.len() {
                match chars[j] {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            w.commands.push(chars[i + 2..j.min(chars.len())].iter().collect());
            j + 1
        }
        Some('{') => {
            let end = chars[i + 2..].iter().position(|&c| c == '}').map_or(chars.len(), |p| i + 2 + p);
            let inner: String = chars[i + 2..end.min(chars.len())].iter().collect();
            let name: String = inner.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                w.vars.push(name);
            }
            end + 1
        }
        Some(c) if c.is_alphabetic() || c == '_' => {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            w.vars.push(chars[i + 1..j].iter().collect());
            j
        }
        _ => {
            w.text.push('$');
            w.has_expansion = false;
            i + 1
        }
    }
}

fn value_of(w: &Word, raw_value: &str) -> ShellValue {
    if !w.has_expansion {
        return ShellValue::Literal(w.text.clone());
    }
    let t = raw_value.trim_matches('"');
    if w.commands.len() == 1 && w.vars.is_empty() && (t.starts_with("$(") || t.starts_with('`')) {
        let inner = t.trim_start_matches("$(").trim_start_matches('`').trim_end_matches(')').trim_end_matches('`');
        if inner == w.commands[0] {
            return ShellValue::Command(w.commands[0].clone());
        }
    }
    if w.vars.len() == 1 && w.commands.is_empty() && w.text.is_empty() {
        return ShellValue::Var(w.vars[0].clone());
    }
    ShellValue::Mixed { raw: raw_value.to_string(), vars: w.vars.clone() }
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn starts_command(w: &str) -> bool {
    matches!(
        w,
        ";" | "&&"
            | "||"
            | "|"
            | "&"
            | "("
            | ")"
            | "then"
            | "do"
            | "else"
            | "{"
            | "}"
            | "!"
            | "elif"
            | "if"
            | "while"
            | "until"
    )
}

/// Logical lines: backslash-newline joined, with the line each starts on.
pub fn logical_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let mut start = 0u32;
    for (i, l) in text.lines().enumerate() {
        if acc.is_empty() {
            start = i as u32 + 1;
        }
        if let Some(stripped) = l.strip_suffix('\\') {
            acc.push_str(stripped);
            continue;
        }
        acc.push_str(l);
        out.push((start, std::mem::take(&mut acc)));
    }
    if !acc.is_empty() {
        out.push((start, acc));
    }
    out
}

/// Every assignment in a file, in order.
pub fn assignments(text: &str, dialect: Dialect) -> Vec<Assignment> {
    let mut out = Assignments::default();
    for (line, l) in logical_lines(text) {
        let words = lex(&l);
        match dialect {
            Dialect::Fish => fish_line(&words, line, &mut out.list),
            Dialect::Posix => posix_line(&words, line, &mut out),
        }
    }
    out.list
}

/// The assignments so far, and where the last one of each name is (so that
/// `export X` finds it at once, however many came before).
#[derive(Default)]
struct Assignments {
    list: Vec<Assignment>,
    last: std::collections::HashMap<String, usize>,
}

impl Assignments {
    fn push(&mut self, a: Assignment) {
        self.last.insert(a.name.clone(), self.list.len());
        self.list.push(a);
    }
}

fn posix_line(words: &[Word], line: u32, out: &mut Assignments) {
    let mut at_start = true;
    // The end of the run of `NAME=value` words the current one is in:
    // found once per run, not once per word.
    let mut run_end = 0;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if starts_command(&w.raw) {
            at_start = true;
            i += 1;
            continue;
        }
        if at_start && matches!(w.raw.as_str(), "export" | "declare" | "typeset" | "readonly" | "local") {
            let builtin = w.raw.as_str();
            let mut exported = builtin == "export";
            let mut j = i + 1;
            while j < words.len() && !starts_command(&words[j].raw) {
                let a = &words[j];
                if a.raw.starts_with('-') {
                    if a.raw.contains('x') && !a.raw.starts_with("+") {
                        exported = true;
                    }
                } else if let Some((name, rest)) = a.raw.split_once('=') {
                    if is_name(name) {
                        let value_word = strip_name(a, name);
                        out.push(Assignment {
                            name: name.into(),
                            value: value_of(&value_word, rest),
                            line,
                            exported,
                            command_prefix: false,
                            universal: false,
                        });
                    }
                } else if exported && is_name(&a.raw) {
                    // `export X` after `X=…`: the earlier assignment becomes exported.
                    if let Some(&k) = out.last.get(&a.raw) {
                        out.list[k].exported = true;
                    }
                }
                j += 1;
            }
            i = j;
            at_start = false;
            continue;
        }
        if at_start {
            if let Some((name, rest)) = w.raw.split_once('=') {
                if is_name(name) {
                    // Prefix assignments followed by a command apply to that command only.
                    if run_end <= i {
                        run_end = i;
                        while run_end < words.len()
                            && words[run_end].raw.split_once('=').is_some_and(|(n, _)| is_name(n))
                        {
                            run_end += 1;
                        }
                    }
                    let j = run_end;
                    let prefix = j < words.len() && !starts_command(&words[j].raw);
                    let value_word = strip_name(w, name);
                    out.push(Assignment {
                        name: name.into(),
                        value: value_of(&value_word, rest),
                        line,
                        exported: false,
                        command_prefix: prefix,
                        universal: false,
                    });
                    i += 1;
                    continue;
                }
            }
        }
        at_start = false;
        i += 1;
    }
}

/// The word's value part (after `NAME=`), re-lexed so quotes inside are honoured.
fn strip_name(w: &Word, name: &str) -> Word {
    let raw_value = &w.raw[name.len() + 1..];
    let mut words = lex(raw_value);
    if words.is_empty() {
        return Word::default();
    }
    // A value with spaces inside quotes is one word; join defensively.
    let mut first = words.remove(0);
    for more in words {
        first.text.push(' ');
        first.text.push_str(&more.text);
        first.vars.extend(more.vars);
        first.commands.extend(more.commands);
        first.has_expansion |= more.has_expansion;
    }
    first
}

fn fish_line(words: &[Word], line: u32, out: &mut Vec<Assignment>) {
    let mut i = 0;
    while i < words.len() {
        if words[i].raw != "set" {
            i += 1;
            continue;
        }
        let mut exported = false;
        let mut universal = false;
        let mut erase = false;
        let mut j = i + 1;
        while j < words.len() && words[j].raw.starts_with('-') {
            let f = &words[j].raw;
            if f.starts_with("--") {
                exported |= f == "--export";
                universal |= f == "--universal";
                erase |= f == "--erase";
            } else {
                exported |= f.contains('x');
                universal |= f.contains('U');
                erase |= f.contains('e');
            }
            j += 1;
        }
        if erase || j >= words.len() || !is_name(&words[j].raw) {
            return;
        }
        let name = words[j].raw.clone();
        let vals: Vec<&Word> = words[j + 1..].iter().take_while(|w| !starts_command(&w.raw)).collect();
        let value = match vals.as_slice() {
            [] => ShellValue::Literal(String::new()),
            [one] => value_of(one, &one.raw),
            many => ShellValue::Mixed {
                raw: many.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" "),
                vars: many.iter().flat_map(|w| w.vars.clone()).collect(),
            },
        };
        out.push(Assignment { name, value, line, exported, command_prefix: false, universal });
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(text: &str) -> Vec<Assignment> {
        assignments(text, Dialect::Posix)
    }

    #[test]
    fn export_forms() {
        let v = a("export A=1\nB='two words'\nexport B\ndeclare -x C=\"x\"\nD=4 cmd\n[ -f x ] && export E=$HOME/k\nF=$(cat ~/.k)\n# export G=1\nH=\"$I\"\n");
        let names: Vec<_> = v.iter().map(|x| (x.name.as_str(), x.exported, x.line)).collect();
        assert_eq!(
            names,
            vec![
                ("A", true, 1),
                ("B", true, 2),
                ("C", true, 4),
                ("D", false, 5),
                ("E", true, 6),
                ("F", false, 7),
                ("H", false, 9)
            ]
        );
        assert_eq!(v[1].value, ShellValue::Literal("two words".into()));
        assert!(v[3].command_prefix);
        assert_eq!(v[5].value, ShellValue::Command("cat ~/.k".into()));
        assert_eq!(v[6].value, ShellValue::Var("I".into()));
        assert!(matches!(v[4].value, ShellValue::Mixed { .. }));
    }

    #[test]
    fn long_lines_are_read_in_linear_time() {
        let start = std::time::Instant::now();
        // One line of 200,000 assignments: each looked for the run's end again.
        let v = a(&"A=1 ".repeat(200_000));
        assert_eq!(v.len(), 200_000);
        assert!(!v[0].command_prefix);
        // `export B …` 100,000 times after 100,000 assignments of other names.
        let text = format!("{}export K=1 {}\n", "A=1\n".repeat(100_000), "B ".repeat(100_000));
        assert_eq!(a(&text).len(), 100_001);
        assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
        // `export X` still marks the last assignment of X only.
        let v = a("X=1\nX=2\nY=3 export X\n");
        assert_eq!(
            v.iter().map(|x| (x.name.as_str(), x.exported)).collect::<Vec<_>>(),
            [("X", false), ("X", true), ("Y", false)]
        );
        assert!(a("A=1 B=2 cmd\n").iter().all(|x| x.command_prefix));
    }

    #[test]
    fn fish_set() {
        let v = assignments("set -gx OPENROUTER_API_KEY sk-or-v1-x\nset -U K v\nset -e Z\n", Dialect::Fish);
        assert_eq!(v.len(), 2);
        assert!(v[0].exported && !v[0].universal);
        assert!(!v[1].exported && v[1].universal);
    }
}
