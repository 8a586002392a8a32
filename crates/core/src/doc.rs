//! One tree for every structured config format, with the line of each node.
//!
//! YAML (saphyr), JSON/JSONC/JSON5-ish (jsonc-parser) and TOML (toml_edit)
//! are parsed by real parsers that keep positions; the catalogue's tool
//! extractors then read one shape, whatever the file's format.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Toml,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// 1-based line where the node (or, for a map entry, its key) starts.
    pub line: u32,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order: key, line of the key, value.
    Map(Vec<(String, u32, Node)>),
}

/// A parse failure, with the line it happened on where the parser says.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub line: Option<u32>,
    pub message: String,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(m) => m.iter().rev().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }
    /// The line of `key` itself (where the reference to a key sits).
    pub fn key_line(&self, key: &str) -> Option<u32> {
        match &self.kind {
            Kind::Map(m) => m.iter().rev().find(|(k, _, _)| k == key).map(|(_, l, _)| *l),
            _ => None,
        }
    }
    /// First of several spellings of a key that is present.
    pub fn get_any<'k>(&self, keys: &[&'k str]) -> Option<(&'k str, &Node)> {
        keys.iter().find_map(|k| self.get(k).map(|v| (*k, v)))
    }
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }
    /// A scalar as text (numbers and booleans too), for ids and names.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) | Kind::Num(s) => Some(s.clone()),
            Kind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    pub fn entries(&self) -> &[(String, u32, Node)] {
        match &self.kind {
            Kind::Map(m) => m,
            _ => &[],
        }
    }
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(s) => s,
            _ => &[],
        }
    }
    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }
}

pub fn parse(text: &str, format: Format) -> Result<Node, ParseError> {
    match format {
        Format::Yaml => parse_yaml(text),
        Format::Json => parse_json(text),
        Format::Toml => parse_toml(text),
    }
}

// ---- YAML ----

/// The most nodes that YAML anchors and aliases may copy in one document.
/// Every alias is a copy of its anchored node (and every anchor is kept as
/// one); 200 bytes of nested aliases (`b: [*a,*a,…]`, `c: [*b,*b,…]`…)
/// copy billions of nodes, so a document that copies more is refused with a
/// parse error instead of filling the memory. Real configs copy a few
/// hundred (a shared `litellm_params` block per model).
pub const MAX_YAML_ALIAS_NODES: usize = 100_000;

/// The deepest YAML nesting read (as deep as the JSON parser's): a
/// `- - - - …` line of a few hundred kilobytes is refused with a parse
/// error rather than a stack overflow.
pub const MAX_YAML_DEPTH: usize = 512;

/// Parse the first YAML document (the others are checked for errors, as
/// the whole stream must parse). The tree is built straight from the
/// parser's events, without recursion (docs/README.md#design: parsers that
/// keep line numbers), nested at most [`MAX_YAML_DEPTH`] deep and copying
/// anchored nodes for aliases within [`MAX_YAML_ALIAS_NODES`].
pub fn parse_yaml(text: &str) -> Result<Node, ParseError> {
    let mut loader = YamlLoader::default();
    for ev in saphyr_parser::Parser::new_from_str(text) {
        let (ev, span) =
            ev.map_err(|e| ParseError { line: Some(e.marker().line() as u32), message: e.info().to_string() })?;
        loader.event(ev, span)?;
    }
    Ok(loader.root.map_or(Node { line: 1, kind: Kind::Null }, |b| b.node))
}

/// A node being built, with what a mapping needs when it is a key (the kind
/// of plain scalar it is: a tagged, bad or collection key is left out), and
/// how many nodes it holds.
#[derive(Clone)]
struct Built {
    node: Node,
    key_kind: Option<u8>,
    size: usize,
}

impl Built {
    /// The key's identity: two keys are the same key when these are equal
    /// (`1` and `"1"` are not).
    fn key(&self) -> Option<(u8, String)> {
        let text = match &self.node.kind {
            Kind::Null => "null".to_string(),
            Kind::Bool(b) => b.to_string(),
            Kind::Num(s) | Kind::Str(s) => s.clone(),
            Kind::Seq(_) | Kind::Map(_) => return None,
        };
        self.key_kind.map(|k| (k, text))
    }
}

/// A collection still open, with the line its children fall back on.
struct Open {
    anchor: usize,
    fallback: u32,
    size: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map {
        /// Entries in order; a key seen again moves to the back (its first
        /// line kept), the slot it left is `None`.
        entries: Vec<Option<(String, u32, Node)>>,
        index: std::collections::HashMap<(u8, String), usize>,
        /// The key read, waiting for its value (`None` inside: a key left out).
        key: Option<Option<((u8, String), u32)>>,
    },
}

#[derive(Default)]
struct YamlLoader {
    /// Documents finished; only the first is built.
    docs: usize,
    root: Option<Built>,
    stack: Vec<Open>,
    anchors: std::collections::HashMap<usize, Built>,
    /// Nodes copied for anchors and aliases so far.
    copied: usize,
}

impl YamlLoader {
    /// The line a node without a mark of its own takes: the line of the
    /// key it is the value of, of the sequence it is in, or 1 for the root.
    fn fallback(&self) -> u32 {
        match self.stack.last() {
            None => 1,
            Some(Open { body: Body::Map { key: Some(Some((_, line))), .. }, .. }) => *line,
            Some(o) => o.fallback,
        }
    }

    /// Count `size` more nodes copied for an anchor or an alias.
    fn copy(&mut self, size: usize, line: u32) -> Result<(), ParseError> {
        self.copied = self.copied.saturating_add(size);
        if self.copied > MAX_YAML_ALIAS_NODES {
            return Err(ParseError {
                line: Some(line),
                message: format!(
                    "YAML anchors and aliases copy more than {MAX_YAML_ALIAS_NODES} nodes (an alias bomb?); not read"
                ),
            });
        }
        Ok(())
    }

    fn insert(&mut self, built: Built, anchor: usize) -> Result<(), ParseError> {
        if anchor > 0 {
            self.copy(built.size, built.node.line)?;
            self.anchors.insert(anchor, built.clone());
        }
        let Some(parent) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(built);
            }
            return Ok(());
        };
        parent.size = parent.size.saturating_add(built.size);
        match &mut parent.body {
            Body::Seq(items) => items.push(built.node),
            Body::Map { entries, index, key } => match key.take() {
                None => *key = Some(built.key().map(|k| (k, built.node.line))),
                Some(None) => {}
                Some(Some((id, line))) => {
                    let (text, line) = match index.get(&id).and_then(|&i| entries[i].take()) {
                        Some((text, first_line, _)) => (text, first_line),
                        None => (id.1.clone(), line),
                    };
                    index.insert(id, entries.len());
                    entries.push(Some((text, line, built.node)));
                }
            },
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), ParseError> {
        let Some(open) = self.stack.pop() else { return Ok(()) };
        let kind = match open.body {
            Body::Seq(items) => Kind::Seq(items),
            Body::Map { entries, .. } => Kind::Map(entries.into_iter().flatten().collect()),
        };
        // A collection carries no mark of its own: a mapping starts where its
        // first key does, a sequence where its parent puts it.
        let line = match &kind {
            Kind::Map(m) => m.first().map_or(open.fallback, |e| e.1),
            _ => open.fallback,
        };
        self.insert(Built { node: Node { line, kind }, key_kind: None, size: open.size }, open.anchor)
    }

    fn scalar(v: std::borrow::Cow<'_, str>, style: saphyr::ScalarStyle, tag: Option<&saphyr::Tag>, line: u32) -> Built {
        use saphyr::Scalar;
        // A tag outside the core schema (`!env x`) is read as if untagged,
        // and such a key is left out.
        let core_tag = tag.filter(|t| t.is_yaml_core_schema()).map(|t| std::borrow::Cow::Owned(t.clone()));
        let scalar = match tag {
            Some(t) if !t.is_yaml_core_schema() => Scalar::parse_from_cow_and_metadata(v, style, None),
            _ => Scalar::parse_from_cow_and_metadata(v, style, core_tag.as_ref()),
        };
        let (kind, key_kind) = match scalar {
            None => (Kind::Null, None),
            Some(Scalar::Null) => (Kind::Null, Some(0)),
            Some(Scalar::Boolean(b)) => (Kind::Bool(b), Some(1)),
            Some(Scalar::Integer(i)) => (Kind::Num(i.to_string()), Some(2)),
            Some(Scalar::FloatingPoint(f)) => (Kind::Num(f.to_string()), Some(3)),
            Some(Scalar::String(s)) => (Kind::Str(s.into_owned()), Some(4)),
        };
        let key_kind = key_kind.filter(|_| tag.is_none_or(|t| t.is_yaml_core_schema()));
        Built { node: Node { line, kind }, key_kind, size: 1 }
    }
}

/// An alias's copy sits where the alias is: its line, and the line of the
/// collections in it that have none of their own (a sequence in a sequence,
/// an empty mapping in one), which took their parent's.
fn relocate(node: &mut Node, line: u32) {
    let old = std::mem::replace(&mut node.line, line);
    if let Kind::Seq(items) = &mut node.kind {
        for item in items {
            let unmarked = match &item.kind {
                Kind::Seq(_) => true,
                Kind::Map(m) => m.is_empty(),
                _ => false,
            };
            if unmarked && item.line == old {
                relocate(item, line);
            }
        }
    }
}

impl YamlLoader {
    /// Take one parser event; an error ends the parse.
    fn event(&mut self, ev: saphyr_parser::Event<'_>, span: saphyr_parser::Span) -> Result<(), ParseError> {
        use saphyr_parser::Event;
        // Only the first document is built; the parser checks the others.
        if self.docs > 0 {
            return Ok(());
        }
        let marked = span.start.line() as u32;
        let line = if marked == 0 { self.fallback() } else { marked };
        match ev {
            Event::DocumentEnd => self.docs += 1,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_YAML_DEPTH {
                    return Err(ParseError {
                        line: Some(line),
                        message: format!("YAML nested more than {MAX_YAML_DEPTH} levels deep; not read"),
                    });
                }
                let body = match ev {
                    Event::SequenceStart(..) => Body::Seq(Vec::new()),
                    _ => Body::Map { entries: Vec::new(), index: Default::default(), key: None },
                };
                let fallback = self.fallback();
                self.stack.push(Open { anchor, fallback, size: 1, body });
            }
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::Scalar(v, style, anchor, tag) => {
                let built = Self::scalar(v, style, tag.as_deref(), line);
                self.insert(built, anchor)?;
            }
            Event::Alias(id) => {
                let Some(size) = self.anchors.get(&id).map(|b| b.size) else {
                    return self.insert(Built { node: Node { line, kind: Kind::Null }, key_kind: None, size: 1 }, 0);
                };
                self.copy(size, line)?;
                if let Some(mut built) = self.anchors.get(&id).cloned() {
                    relocate(&mut built.node, line);
                    self.insert(built, 0)?;
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) => {}
        }
        Ok(())
    }
}

// ---- JSON, JSONC, JSON5-ish ----

/// Line starts of a text, for turning byte offsets into 1-based lines.
pub struct LineIndex(Vec<usize>);

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut v = vec![0];
        v.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex(v)
    }
    pub fn line(&self, offset: usize) -> u32 {
        match self.0.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
}

pub fn parse_json(text: &str) -> Result<Node, ParseError> {
    use jsonc_parser::{CollectOptions, ParseOptions};
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let idx = LineIndex::new(text);
    let opts = ParseOptions::default(); // comments, trailing commas, loose names: JSONC and most of JSON5
    let res = jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &opts).map_err(|e| {
        let r = e.range();
        ParseError { line: Some(idx.line(r.start)), message: e.kind().to_string() }
    })?;
    match res.value {
        Some(v) => Ok(from_json(&v, &idx)),
        None => Ok(Node { line: 1, kind: Kind::Null }),
    }
}

fn from_json(v: &jsonc_parser::ast::Value, idx: &LineIndex) -> Node {
    use jsonc_parser::ast::{ObjectPropName, Value};
    let (start, kind) = match v {
        Value::StringLit(s) => (s.range.start, Kind::Str(s.value.to_string())),
        Value::NumberLit(n) => (n.range.start, Kind::Num(n.value.to_string())),
        Value::BooleanLit(b) => (b.range.start, Kind::Bool(b.value)),
        Value::NullKeyword(n) => (n.range.start, Kind::Null),
        Value::Array(a) => (a.range.start, Kind::Seq(a.elements.iter().map(|e| from_json(e, idx)).collect())),
        Value::Object(o) => (
            o.range.start,
            Kind::Map(
                o.properties
                    .iter()
                    .map(|p| {
                        let name = match &p.name {
                            ObjectPropName::String(s) => s.value.to_string(),
                            ObjectPropName::Word(w) => w.value.to_string(),
                        };
                        (name, idx.line(p.range.start), from_json(&p.value, idx))
                    })
                    .collect(),
            ),
        ),
    };
    Node { line: idx.line(start), kind }
}

// ---- TOML ----

pub fn parse_toml(text: &str) -> Result<Node, ParseError> {
    let idx = LineIndex::new(text);
    let doc = toml_edit::Document::parse(text.to_string())
        .map_err(|e| ParseError { line: e.span().map(|s| idx.line(s.start)), message: e.message().to_string() })?;
    Ok(toml_table(doc.as_table(), &idx, 1))
}

fn toml_table(t: &toml_edit::Table, idx: &LineIndex, fallback: u32) -> Node {
    let line = t.span().map_or(fallback, |s| idx.line(s.start));
    let entries = t
        .iter()
        .map(|(k, item)| {
            let kl = t.key(k).and_then(|key| key.span()).map_or(line, |s| idx.line(s.start));
            (k.to_string(), kl, toml_item(item, idx, kl))
        })
        .collect();
    Node { line, kind: Kind::Map(entries) }
}

fn toml_item(item: &toml_edit::Item, idx: &LineIndex, fallback: u32) -> Node {
    use toml_edit::Item;
    match item {
        Item::None => Node { line: fallback, kind: Kind::Null },
        Item::Value(v) => toml_value(v, idx, fallback),
        Item::Table(t) => toml_table(t, idx, fallback),
        Item::ArrayOfTables(a) => Node {
            line: a.span().map_or(fallback, |s| idx.line(s.start)),
            kind: Kind::Seq(a.iter().map(|t| toml_table(t, idx, fallback)).collect()),
        },
    }
}

fn toml_value(v: &toml_edit::Value, idx: &LineIndex, fallback: u32) -> Node {
    use toml_edit::Value;
    let line = v.span().map_or(fallback, |s| idx.line(s.start));
    let kind = match v {
        Value::String(s) => Kind::Str(s.value().clone()),
        Value::Integer(i) => Kind::Num(i.value().to_string()),
        Value::Float(f) => Kind::Num(f.value().to_string()),
        Value::Boolean(b) => Kind::Bool(*b.value()),
        Value::Datetime(d) => Kind::Str(d.value().to_string()),
        Value::Array(a) => Kind::Seq(a.iter().map(|e| toml_value(e, idx, line)).collect()),
        Value::InlineTable(t) => Kind::Map(
            t.iter()
                .map(|(k, v)| {
                    let kl = t.key(k).and_then(|key| key.span()).map_or(line, |s| idx.line(s.start));
                    (k.to_string(), kl, toml_value(v, idx, kl))
                })
                .collect(),
        ),
    };
    Node { line, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_lines() {
        let n = parse_yaml("# c\nmodels:\n  - name: a\n    apiKey: \"x\"\n  - name: b\n").unwrap();
        let models = n.get("models").unwrap();
        assert_eq!(models.items()[0].line, 3);
        assert_eq!(models.items()[0].key_line("apiKey"), Some(4));
        assert_eq!(models.items()[1].line, 5);
    }

    #[test]
    fn yaml_anchors_resolve() {
        let n = parse_yaml("base: &b\n  k: v\nother: *b\n").unwrap();
        assert_eq!(n.path(&["other", "k"]).and_then(Node::as_str), Some("v"));
    }

    /// `levels` lines, each a sequence of nine aliases of the line before.
    fn alias_bomb(levels: usize) -> String {
        let mut t = String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for i in 1..levels {
            let p = i - 1;
            t.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{p}"); 9].join(",")));
        }
        t
    }

    #[test]
    fn an_alias_bomb_is_a_parse_error_not_a_copy() {
        let bomb = alias_bomb(9);
        assert!(bomb.len() < 500, "{}", bomb.len());
        let e = parse_yaml(&bomb).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
        assert!(e.line.is_some_and(|l| l <= 9));
        // Aliases within the bound still resolve, copies and all.
        let small = parse_yaml(&alias_bomb(4)).unwrap();
        assert_eq!(small.get("a3").unwrap().items()[8].items()[8].items()[8].items()[8].as_str(), Some("lol"));
    }

    #[test]
    fn deep_yaml_nesting_is_a_parse_error_not_a_stack_overflow() {
        let e = parse_yaml(&format!("{}x\n", "- ".repeat(200_000))).unwrap_err();
        assert!(e.message.contains("nested more than 512"), "{}", e.message);
        assert!(parse_yaml(&format!("{}x\n", "- ".repeat(500))).is_ok());
        assert!(parse_yaml(&format!("a: {}{}\n", "[".repeat(200), "]".repeat(200))).is_ok());
    }

    #[test]
    fn yaml_keys_as_before() {
        // A repeated key keeps its first line, takes the last value and moves last.
        let n = parse_yaml("a: 1\nb: 2\na: 3\n").unwrap();
        let keys: Vec<_> = n.entries().iter().map(|(k, l, v)| (k.as_str(), *l, v.scalar_text().unwrap())).collect();
        assert_eq!(keys, [("b", 2, "2".to_string()), ("a", 1, "3".to_string())]);
        // `1` and `"1"` are two keys; a tagged or complex key is left out.
        assert_eq!(parse_yaml("1: a\n\"1\": b\n!x c: d\n? [k]\n: v\n").unwrap().entries().len(), 2);
    }

    #[test]
    fn jsonc_lines_and_comments() {
        let n = parse_json("{\n // c\n \"a\": {\n  \"b\": \"x\", // t\n },\n}\n").unwrap();
        assert_eq!(n.get("a").unwrap().key_line("b"), Some(4));
    }

    #[test]
    fn json_error_has_line() {
        let e = parse_json("{\n\"a\": \n}").unwrap_err();
        assert!(e.line.is_some());
    }

    #[test]
    fn toml_lines() {
        let n = parse_toml("model = \"x\"\n\n[model_providers.or]\nbase_url = \"u\"\nenv_key = \"K\"\n").unwrap();
        let p = n.path(&["model_providers", "or"]).unwrap();
        assert_eq!(p.key_line("env_key"), Some(5));
    }
}
