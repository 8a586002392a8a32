//! docs/records.schema.json, generated from the record types: the schema
//! cannot drift from the code. `make schema` rewrites the file; a test fails
//! when the committed file is stale.

use schemars::generate::SchemaSettings;

use super::Record;

/// The JSON Schema (draft 2020-12) of one record line, pretty-printed.
pub fn schema() -> String {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut s = generator.into_root_schema_for::<Record>();
    s.insert("$id".into(), "https://keyhole.invalid/records.schema.json".into());
    s.insert("title".into(), "keyhole records (docs/records.md)".into());
    s.insert(
        "description".into(),
        "One JSON object per line. Every stage keeps the fields it does not know, so objects allow more \
         properties than listed here, and records of other types pass through. Generated from \
         crates/core/src/record/: do not edit, run `make schema`."
            .into(),
    );
    let mut text = serde_json::to_string_pretty(&s).expect("a schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn committed_schema_is_current() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/records.schema.json");
        let now = super::schema();
        if std::env::var_os("KEYHOLE_WRITE_SCHEMA").is_some() {
            std::fs::write(&path, &now).expect("write docs/records.schema.json");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == now, "docs/records.schema.json is stale: run `make schema` and commit it");
    }
}
