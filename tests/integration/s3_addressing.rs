//! S3 addressing against the real S3 test server: path style puts the bucket in the path,
//! virtual-host style (the default) puts it in the host name as S3 does, and an endpoint
//! that cannot carry a bucket in its host is refused at start-up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::harness::cli_env;
use crate::harness::stores::{Bucket, CREDENTIALS, must_fail, must_succeed, s3_endpoint};

/// An HTTP proxy on loopback that records each request's Host and path and passes it on to
/// the S3 test server unchanged but for the request line, one request per connection. It
/// lets `BUCKET.localhost` reach the server without any name resolution.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (record, upstream) = (record.clone(), upstream.clone());
                std::thread::spawn(move || pass_on(client, &upstream, &record));
            }
        });
        Proxy { url, seen }
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

fn pass_on(client: TcpStream, upstream: &str, record: &Mutex<Vec<(String, String)>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    // `PUT http://host:port/path HTTP/1.1` → `PUT /path HTTP/1.1`.
    let mut parts = line.split_whitespace();
    let (method, target, version) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    );
    let path = target
        .strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or(target.clone());
    let mut head = format!("{method} {path} {version}\r\n");
    let (mut host, mut length) = (String::new(), 0usize);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let t = h.trim_end();
        if t.is_empty() {
            break;
        }
        let (name, value) = t.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "host" => host = value.trim().to_string(),
            "content-length" => length = value.trim().parse().unwrap(),
            "connection" | "proxy-connection" => continue,
            _ => {}
        }
        head.push_str(&format!("{t}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    record
        .lock()
        .unwrap()
        .push((host, path.split('?').next().unwrap().to_string()));
    let mut server = TcpStream::connect(upstream).unwrap();
    server.write_all(head.as_bytes()).unwrap();
    server.write_all(&body).unwrap();
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).unwrap();
    let mut client = client;
    let _ = client.write_all(&answer);
}

fn check(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = CREDENTIALS
        .iter()
        .copied()
        .chain(env.iter().copied())
        .collect();
    let args = [args, &["--s3-allow-http", "storage", "check"]].concat();
    cli_env(dir, &args, &env)
}

#[test]
fn virtual_host_style_puts_the_bucket_in_the_host_name() {
    let Some(endpoint) = s3_endpoint("virtual_host_style_puts_the_bucket_in_the_host_name") else {
        return;
    };
    let bucket = Bucket::create(&endpoint);
    let dir = tempfile::tempdir().unwrap();
    let artifacts = format!("s3://{}/prefix", bucket.name);
    let port = endpoint.rsplit(':').next().unwrap().to_string();
    let by_name = format!("http://localhost:{port}");
    let proxy = Proxy::start(&endpoint);

    // The default: virtual host. Every request names the bucket in its Host, none in its path.
    let out = check(
        dir.path(),
        &["--artifacts", &artifacts, "--s3-endpoint", &by_name],
        &[("AWS_PROXY_URL", &proxy.url)],
    );
    must_succeed(out);
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for (host, path) in &seen {
        assert_eq!(
            host,
            &format!("{}.localhost:{port}", bucket.name),
            "{seen:?}"
        );
        assert!(path.starts_with("/prefix/") || path == "/", "{seen:?}");
    }

    // Path style, switched on by a variable: the bucket leads the path.
    let out = check(
        dir.path(),
        &["--artifacts", &artifacts, "--s3-endpoint", &by_name],
        &[
            ("AWS_PROXY_URL", &proxy.url),
            ("BURROW_S3_PATH_STYLE", "yes"),
        ],
    );
    must_succeed(out);
    let seen = proxy.seen()[seen.len()..].to_vec();
    assert!(!seen.is_empty());
    for (host, path) in &seen {
        assert_eq!(host, &format!("localhost:{port}"), "{seen:?}");
        assert!(path.starts_with(&format!("/{}", bucket.name)), "{seen:?}");
    }
    assert_eq!(
        bucket.keys(),
        Vec::<String>::new(),
        "the probes are deleted"
    );

    // An IP address cannot carry the bucket: refused before any request, with the way out.
    let stderr = must_fail(check(
        dir.path(),
        &["--artifacts", &artifacts, "--s3-endpoint", &endpoint],
        &[],
    ));
    assert!(stderr.contains("--s3-path-style"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
