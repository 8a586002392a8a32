//! Reading the user's files safely: never blocking on a FIFO, never reading
//! a device, never more than a cap, and never writing anything.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

#[derive(Debug)]
pub enum ReadError {
    /// A FIFO, socket, device or directory: not opened for reading.
    NotRegular(&'static str),
    TooLarge(u64),
    /// Has NUL bytes: a binary file, not a config.
    Binary,
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotRegular(k) => write!(f, "is a {k}, not a regular file; skipped"),
            ReadError::TooLarge(n) => {
                write!(f, "is {} MiB, over the size cap; skipped (raise it with --max-filesize)", n / (1024 * 1024))
            }
            ReadError::Binary => write!(f, "is binary (has NUL bytes); skipped"),
            ReadError::Io(e) => match e.raw_os_error() {
                Some(libc::EACCES) | Some(libc::EPERM) => {
                    write!(f, "cannot be read: permission denied (run as its owner, or check its mode)")
                }
                Some(libc::ELOOP) => write!(f, "is a symbolic link loop; skipped"),
                Some(libc::ENOENT) => write!(f, "vanished while being read; skipped"),
                _ => write!(f, "cannot be read: {e}"),
            },
        }
    }
}

impl ReadError {
    /// Not the user's config failing to be read, but something that is not
    /// a config at all (a FIFO, a loop, a file gone, a huge or binary file):
    /// noted and skipped rather than reported as an error.
    pub fn is_skip(&self) -> bool {
        match self {
            ReadError::Io(e) => {
                matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOENT) | Some(libc::ENOTDIR))
            }
            _ => true,
        }
    }
}

fn kind_of(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

/// Open read-only without blocking (a FIFO opened with O_NONBLOCK returns at
/// once), then check on the open descriptor that it is a regular file.
fn open(path: &Path) -> Result<(File, u64), ReadError> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            // Opening a Unix socket fails with ENXIO: say what it is.
            if e.raw_os_error() == Some(libc::ENXIO) {
                if let Ok(md) = std::fs::metadata(path) {
                    return ReadError::NotRegular(kind_of(&md.file_type()));
                }
            }
            ReadError::Io(e)
        })?;
    let md = f.metadata().map_err(ReadError::Io)?;
    if !md.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_of(&md.file_type())));
    }
    Ok((f, md.len()))
}

/// Read a whole regular file of at most `cap` bytes, whatever its bytes
/// (NUL-separated environments, keys with odd bytes).
pub fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let (f, len) = open(path)?;
    if len > cap {
        return Err(ReadError::TooLarge(len));
    }
    let mut buf = Vec::new();
    if len > 0 {
        // The size fstat gave, in one read(2): no second read to find the end
        // (syscalls are most of a small file's cost). Bytes appended since
        // the fstat are not read; a file that shrank ends early.
        buf.resize(len as usize, 0);
        let mut got = 0;
        let mut f = &f;
        while got < buf.len() {
            match f.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
        buf.truncate(got);
    } else {
        // Files that report no size (/proc/PID/environ) are read to their end.
        f.take(cap + 1).read_to_end(&mut buf).map_err(ReadError::Io)?;
    }
    if buf.len() as u64 > cap {
        return Err(ReadError::TooLarge(buf.len() as u64));
    }
    Ok(buf)
}

/// Read a whole regular text file of at most `cap` bytes (NUL bytes: binary, refused).
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let buf = read_bytes(path, cap)?;
    if buf.contains(&0) {
        return Err(ReadError::Binary);
    }
    Ok(buf)
}

/// Read a text file; invalid UTF-8 is replaced (U+FFFD), never fatal.
pub fn read_text(path: &Path, cap: u64) -> Result<String, ReadError> {
    let bytes = read(path, cap)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A file named on the command line (`--env-file FILE`, `--key-file FILE`,
/// a report's FILE…): `-` is standard input, and a FIFO or a character
/// device the user names (`<(env)`, `/dev/null`) is read as they asked —
/// only a directory is refused. At most `cap` bytes. The error is said in
/// words that name the path (`no such file: PATH`), for the caller to put
/// after the flag (docs/records.md#flags).
pub fn read_arg(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    if is_stdin(path) {
        STDIN_READ.store(true, std::sync::atomic::Ordering::Relaxed);
        std::io::stdin()
            .lock()
            .take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        let f = File::open(path).map_err(|e| arg_error(path, &e))?;
        let md = f.metadata().map_err(|e| arg_error(path, &e))?;
        if md.is_dir() {
            return Err(format!("{} is a directory, not a file", path.display()));
        }
        f.take(cap + 1).read_to_end(&mut buf).map_err(|e| arg_error(path, &e))?;
    }
    if buf.len() as u64 > cap {
        return Err(format!("{} is over the size cap of {} MiB", shown(path), cap >> 20));
    }
    Ok(buf)
}

/// [`read_arg`] as text: invalid UTF-8 is replaced (U+FFFD), NUL bytes refused.
pub fn read_arg_text(path: &Path, cap: u64) -> Result<String, String> {
    let bytes = read_arg(path, cap)?;
    if bytes.contains(&0) {
        return Err(format!("{} is binary (has NUL bytes)", shown(path)));
    }
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Standard input was read for a `-` file argument: the records cannot come from there too.
static STDIN_READ: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether [`read_arg`] read standard input for a `-`.
pub fn stdin_was_read() -> bool {
    STDIN_READ.load(std::sync::atomic::Ordering::Relaxed)
}

/// `-`, the name of standard input wherever a file is taken.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn shown(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

/// Why a named file cannot be opened, in words: `no such file: PATH`.
pub fn arg_error(path: &Path, e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => format!("no such file: {}", path.display()),
        Some(libc::EACCES) | Some(libc::EPERM) => format!("{}: permission denied", path.display()),
        Some(libc::EISDIR) => format!("{} is a directory, not a file", path.display()),
        _ => {
            // The message without Rust's " (os error N)".
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            format!("{}: {text}", path.display())
        }
    }
}

/// The default cap for config files: far above any real config.
pub const DEFAULT_CAP: u64 = 4 * 1024 * 1024;
