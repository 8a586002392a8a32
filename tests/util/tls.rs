//! TLS for the tests' imitation on the real provider host names
//! (docs/wire.md#the-imitation-used-by-the-tests): CAs and leaves for
//! openrouter.ai, api.openai.com and api.anthropic.com made at test time
//! with the openssl CLI, a TLS front that terminates TLS and forwards the
//! plain bytes to a loopback server (the imitation), a plain-http server
//! that redirects every request to https on the same host, and a server
//! whose every hop is slow.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The provider hosts every test leaf is valid for.
pub const HOSTS: &[&str] = &["openrouter.ai", "api.openai.com", "api.anthropic.com"];

/// A CA and a leaf it signed for [`HOSTS`], in `dir/<name>/`: `ca.pem`,
/// and the leaf as DER (`leaf.der`, `leaf.key.der`) for the TLS front.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn make(dir: &Path, name: &str) -> Pki {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let san: Vec<String> = HOSTS.iter().map(|h| format!("DNS:{h}")).collect();
        let sh = format!(
            r#"set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3 -subj "/CN=keyhole test {name} CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=openrouter.ai
printf 'subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext
openssl x509 -in leaf.pem -outform der -out leaf.der
openssl pkcs8 -topk8 -nocrypt -in leaf.key -outform der -out leaf.key.der
"#,
            san = san.join(",")
        );
        let ok = Command::new("bash")
            .arg("-c")
            .arg(sh)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl could not make the test certificates in {}", dir.display());
        Pki { dir }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let cert = rustls::pki_types::CertificateDer::from(std::fs::read(self.dir.join("leaf.der")).unwrap());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
            std::fs::read(self.dir.join("leaf.key.der")).unwrap(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        Arc::new(cfg)
    }
}

/// Terminates TLS with `pki`'s leaf on a loopback port and forwards each
/// connection's plain bytes to `127.0.0.1:backend`.
pub struct TlsFront {
    pub port: u16,
}

impl TlsFront {
    pub fn start(pki: &Pki, backend: u16) -> TlsFront {
        let cfg = pki.server_config();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let cfg = cfg.clone();
                thread::spawn(move || {
                    let _ = pump(conn, cfg, backend);
                });
            }
        });
        TlsFront { port }
    }
}

fn quiet(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn pump(mut tcp: TcpStream, cfg: Arc<rustls::ServerConfig>, backend: u16) -> std::io::Result<()> {
    let mut conn = rustls::ServerConnection::new(cfg).map_err(std::io::Error::other)?;
    let tick = Some(Duration::from_millis(5));
    tcp.set_read_timeout(tick)?;
    let mut back: Option<TcpStream> = None;
    let mut buf = vec![0u8; 16 * 1024];
    let mut idle = 0u32;
    loop {
        let mut busy = false;
        match conn.read_tls(&mut tcp) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                busy = true;
                if conn.process_new_packets().is_err() {
                    // The alert goes out; the client sees why.
                    let _ = conn.write_tls(&mut tcp);
                    return Ok(());
                }
            }
            Err(e) if quiet(&e) => {}
            Err(e) => return Err(e),
        }
        loop {
            match conn.reader().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    busy = true;
                    if back.is_none() {
                        let b = TcpStream::connect(("127.0.0.1", backend))?;
                        b.set_read_timeout(tick)?;
                        back = Some(b);
                    }
                    back.as_mut().unwrap().write_all(&buf[..n])?;
                }
                Err(e) if quiet(&e) => break,
                Err(e) => return Err(e),
            }
        }
        if let Some(b) = back.as_mut() {
            match b.read(&mut buf) {
                Ok(0) => {
                    conn.send_close_notify();
                    while conn.wants_write() {
                        conn.write_tls(&mut tcp)?;
                    }
                    return Ok(());
                }
                Ok(n) => {
                    busy = true;
                    conn.writer().write_all(&buf[..n])?;
                }
                Err(e) if quiet(&e) => {}
                Err(e) => return Err(e),
            }
        }
        while conn.wants_write() {
            conn.write_tls(&mut tcp)?;
        }
        idle = if busy { 0 } else { idle + 1 };
        if idle > 6000 {
            return Ok(());
        }
    }
}

/// A plain-http server that answers every request with `301` to the same
/// host and path over https (what openrouter.ai does on port 80).
pub struct HttpsUpgrade {
    pub port: u16,
}

impl HttpsUpgrade {
    pub fn start() -> HttpsUpgrade {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                thread::spawn(move || {
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    let mut w = conn;
                    while let Some((path, headers)) = read_request(&mut r) {
                        let host = header(&headers, "host").unwrap_or("openrouter.ai");
                        let host = host.split(':').next().unwrap_or(host);
                        let resp = format!(
                            "HTTP/1.1 301 Moved Permanently\r\nlocation: https://{host}{path}\r\ncontent-length: 0\r\n\r\n"
                        );
                        if w.write_all(resp.as_bytes()).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        HttpsUpgrade { port }
    }
}

/// Every request waits `delay`, then `302` to `/slow/N+1/…`: a chain of slow hops.
pub struct SlowHops {
    pub port: u16,
}

impl SlowHops {
    pub fn start(delay: Duration) -> SlowHops {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                thread::spawn(move || {
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    let mut w = conn;
                    while let Some((path, _)) = read_request(&mut r) {
                        thread::sleep(delay);
                        let n: u32 = path
                            .trim_start_matches("/slow/")
                            .split('/')
                            .next()
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0);
                        let resp = format!(
                            "HTTP/1.1 302 Found\r\nlocation: /slow/{}/api/v1/key\r\ncontent-length: 0\r\n\r\n",
                            n + 1
                        );
                        if w.write_all(resp.as_bytes()).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SlowHops { port }
    }
}

/// An HTTP proxy that takes absolute-form requests only, as a plain
/// forwarding proxy does, and refuses CONNECT with 405; it records every
/// request line it received.
pub struct PlainProxy {
    pub port: u16,
    pub lines: Arc<std::sync::Mutex<Vec<String>>>,
}

impl PlainProxy {
    pub fn start() -> PlainProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = lines.clone();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let seen = seen.clone();
                thread::spawn(move || {
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    let mut w = conn;
                    let mut first = String::new();
                    // One request per connection (it closes after the answer).
                    if r.read_line(&mut first).unwrap_or(0) > 0 {
                        let line = first.trim_end().to_string();
                        let mut headers = Vec::new();
                        loop {
                            let mut l = String::new();
                            if r.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                                break;
                            }
                            headers.push(l.trim_end().to_string());
                        }
                        seen.lock().unwrap().push(line.clone());
                        let mut parts = line.split_whitespace();
                        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                        let Some(rest) = target.strip_prefix("http://").filter(|_| method != "CONNECT") else {
                            let _ = w.write_all(
                                b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                            );
                            return;
                        };
                        let (authority, path) =
                            rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
                        let target =
                            if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
                        // Names resolve through the test's map: every host is the loopback imitation.
                        let port = target.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).unwrap_or(80);
                        let Ok(mut up) = TcpStream::connect(("127.0.0.1", port)) else { return };
                        let mut req = format!("{method} {path} HTTP/1.1\r\n");
                        for h in &headers {
                            let lower = h.to_ascii_lowercase();
                            if !lower.starts_with("proxy-") && !lower.starts_with("connection:") {
                                req.push_str(h);
                                req.push_str("\r\n");
                            }
                        }
                        req.push_str("connection: close\r\n\r\n");
                        if up.write_all(req.as_bytes()).is_err() {
                            return;
                        }
                        let mut answer = Vec::new();
                        let _ = up.read_to_end(&mut answer);
                        let _ = w.write_all(&answer);
                    }
                });
            }
        });
        PlainProxy { port, lines }
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<(String, String)>)> {
    super::imitation::read_request(r).map(|(s, _, _)| (s.path, s.headers))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// An HTTP proxy whose upstream, after `delay`, says that no credentials
/// arrived (OpenRouter's own body): what a proxy that strips the key looks like.
pub struct NoAuthProxy {
    pub port: u16,
}

impl NoAuthProxy {
    pub fn start(delay: Duration) -> NoAuthProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let a = keyhole_core::provider::answer("openrouter.no-credentials").expect("the provider file has it");
        let body = a.render("");
        let head = format!(
            "HTTP/1.1 {} Unauthorized\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            a.status,
            a.content_type(),
            body.len()
        );
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let (head, body) = (head.clone(), body.clone());
                thread::spawn(move || {
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    let mut w = conn;
                    if read_request(&mut r).is_some() {
                        thread::sleep(delay);
                        let _ = w.write_all(head.as_bytes());
                        let _ = w.write_all(body.as_bytes());
                    }
                });
            }
        });
        NoAuthProxy { port }
    }
}

/// A SOCKS5 proxy (no authentication, CONNECT only) that counts the tunnels it made.
pub struct Socks5 {
    pub port: u16,
    pub tunnels: Arc<std::sync::atomic::AtomicUsize>,
}

impl Socks5 {
    pub fn start() -> Socks5 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let tunnels = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = tunnels.clone();
        thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let count = count.clone();
                thread::spawn(move || {
                    let _ = socks5_one(conn, &count);
                });
            }
        });
        Socks5 { port, tunnels }
    }
}

fn socks5_one(mut c: TcpStream, count: &std::sync::atomic::AtomicUsize) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    c.read_exact(&mut head)?;
    let mut methods = vec![0u8; head[1] as usize];
    c.read_exact(&mut methods)?;
    c.write_all(&[5, 0])?;
    let mut req = [0u8; 4];
    c.read_exact(&mut req)?;
    // The target's host is not looked up: every name is the loopback imitation (socks5h sends names).
    match req[3] {
        1 => c.read_exact(&mut [0u8; 4])?,
        4 => c.read_exact(&mut [0u8; 16])?,
        _ => {
            let mut n = [0u8; 1];
            c.read_exact(&mut n)?;
            c.read_exact(&mut vec![0u8; n[0] as usize])?;
        }
    }
    let mut port = [0u8; 2];
    c.read_exact(&mut port)?;
    let up = TcpStream::connect(("127.0.0.1", u16::from_be_bytes(port)))?;
    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    let (mut a, mut b) = (c.try_clone()?, up.try_clone()?);
    let t = thread::spawn(move || {
        let _ = std::io::copy(&mut a, &mut b);
        let _ = b.shutdown(std::net::Shutdown::Write);
    });
    let (mut up, mut c) = (up, c);
    let _ = std::io::copy(&mut up, &mut c);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
    Ok(())
}
