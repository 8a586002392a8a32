//! `--env-file`: an environment to analyse instead of the tool's own —
//! NUL-separated like /proc/PID/environ, or `NAME=VALUE` lines.

use std::collections::BTreeMap;

pub fn parse(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let sep = if bytes.contains(&0) { 0u8 } else { b'\n' };
    let mut m = BTreeMap::new();
    for entry in bytes.split(|b| *b == sep) {
        let entry = if sep == b'\n' { entry.strip_suffix(b"\r").unwrap_or(entry) } else { entry };
        if entry.is_empty() || entry.starts_with(b"#") {
            continue;
        }
        let entry = entry.strip_prefix(b"export ").unwrap_or(entry);
        if let Some(eq) = entry.iter().position(|b| *b == b'=') {
            m.insert(String::from_utf8_lossy(&entry[..eq]).trim().to_string(), entry[eq + 1..].to_vec());
        }
    }
    m
}

/// `--env-file FILE` if given (read as bytes), else the running tool's own environment.
pub fn load(file: Option<&std::path::Path>) -> Result<BTreeMap<String, Vec<u8>>, String> {
    match file {
        // `-` is standard input; a FIFO (`<(env)`) or /dev/null is read as named.
        Some(f) => {
            crate::fsread::read_arg(f, 16 * 1024 * 1024).map(|b| parse(&b)).map_err(|e| format!("--env-file: {e}"))
        }
        None => Ok(own()),
    }
}

/// The running tool's own environment, as bytes (a value may be any bytes).
pub fn own() -> BTreeMap<String, Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.as_bytes().to_vec())).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_forms() {
        let m = super::parse(b"A=1\nexport B=x=y\r\n# c\n");
        assert_eq!(m["B"], b"x=y");
        let m = super::parse(b"A=1\0B=\n2\0");
        assert_eq!(m["B"], b"\n2");
    }
}
