//! One tree for every structured config format, with the line of each node.
//!
//! YAML (saphyr), JSON/JSONC/JSON5-ish (jsonc-parser) and TOML (toml_edit)
//! are parsed by real parsers that keep positions; the catalogue's tool
//! extractors then read one shape, whatever the file's format.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

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

pub fn parse_yaml(text: &str) -> Result<Node, ParseError> {
    let docs = MarkedYamlOwned::load_from_str(text)
        .map_err(|e| ParseError { line: Some(e.marker().line() as u32), message: e.info().to_string() })?;
    match docs.into_iter().next() {
        Some(d) => Ok(from_yaml(&d, 1)),
        None => Ok(Node { line: 1, kind: Kind::Null }),
    }
}

fn from_yaml(y: &MarkedYamlOwned, fallback_line: u32) -> Node {
    let line = match y.span.start.line() {
        0 => fallback_line,
        l => l as u32,
    };
    let kind = match &y.data {
        YamlDataOwned::Value(s) => scalar(s),
        YamlDataOwned::Representation(s, _, _) => Kind::Str(s.clone()),
        YamlDataOwned::Sequence(items) => Kind::Seq(items.iter().map(|i| from_yaml(i, line)).collect()),
        YamlDataOwned::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map.iter() {
                let key_line = match k.span.start.line() {
                    0 => line,
                    l => l as u32,
                };
                let key = match &k.data {
                    YamlDataOwned::Value(s) => scalar_key(s),
                    YamlDataOwned::Representation(s, _, _) => s.clone(),
                    _ => continue,
                };
                entries.push((key, key_line, from_yaml(v, key_line)));
            }
            Kind::Map(entries)
        }
        YamlDataOwned::Tagged(_, inner) => return from_yaml(inner, line),
        _ => Kind::Null,
    };
    // A mapping's own span is not marked: it starts where its first key does.
    let line = match &kind {
        Kind::Map(m) if y.span.start.line() == 0 => m.first().map_or(line, |e| e.1),
        _ => line,
    };
    Node { line, kind }
}

fn scalar(s: &ScalarOwned) -> Kind {
    match s {
        ScalarOwned::Null => Kind::Null,
        ScalarOwned::Boolean(b) => Kind::Bool(*b),
        ScalarOwned::Integer(i) => Kind::Num(i.to_string()),
        ScalarOwned::FloatingPoint(f) => Kind::Num(f.to_string()),
        ScalarOwned::String(s) => Kind::Str(s.clone()),
    }
}

fn scalar_key(s: &ScalarOwned) -> String {
    match s {
        ScalarOwned::Null => "null".into(),
        ScalarOwned::Boolean(b) => b.to_string(),
        ScalarOwned::Integer(i) => i.to_string(),
        ScalarOwned::FloatingPoint(f) => f.to_string(),
        ScalarOwned::String(s) => s.clone(),
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
