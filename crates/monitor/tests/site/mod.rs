//! A small login site on 127.0.0.1 for the HTTP and user-story tests: a login page with a
//! CSRF token and a session cookie, a form post that redirects to a welcome page, logout.
//! `broken` makes the login reject every token, like a deploy that broke sessions.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

pub struct Site {
    pub base: String,
    #[allow(dead_code, reason = "each test binary compiles this module; not all break the site")]
    pub broken: Arc<AtomicBool>,
}

pub fn start() -> Site {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let broken = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&broken);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let flag = Arc::clone(&flag);
            thread::spawn(move || serve(stream, &flag));
        }
    });
    Site { base, broken }
}

struct Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace('+', " ")))
        .collect()
}

fn serve(stream: TcpStream, broken: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut out = stream;
    while let Some(req) = read_request(&mut reader) {
        let cookies = req.headers.get("cookie").cloned().unwrap_or_default();
        let has = |c: &str| cookies.split(';').any(|kv| kv.trim() == c);
        let (status, extra, body): (&str, Vec<String>, String) = match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/login") => (
                "200 OK",
                vec!["Set-Cookie: session=s1; Path=/".into()],
                "<html><form method=post><input type=hidden name=\"csrf\" value=\"tok-4242\">Sign in</form></html>".into(),
            ),
            ("POST", "/login") => {
                let f = form(&req.body);
                let valid = has("session=s1")
                    && f.get("csrf").map(String::as_str) == Some("tok-4242")
                    && f.get("user").map(String::as_str) == Some("ana")
                    && f.get("password").map(String::as_str) == Some("s3cret")
                    && !broken.load(Ordering::SeqCst);
                if valid {
                    ("302 Found", vec!["Location: /welcome".into(), "Set-Cookie: auth=ana; Path=/".into()], String::new())
                } else {
                    ("403 Forbidden", vec![], "<html><h1>Invalid CSRF token</h1> please reload the form</html>".into())
                }
            }
            ("GET", "/welcome") if has("auth=ana") => ("200 OK", vec![], "<html>Welcome, ana!</html>".into()),
            ("GET", "/welcome") => ("302 Found", vec!["Location: /login".into()], String::new()),
            ("GET", "/logout") => (
                "200 OK",
                vec!["Set-Cookie: auth=; Path=/; Max-Age=0".into()],
                "<html>Logged out</html>".into(),
            ),
            ("GET", "/error") => ("500 Internal Server Error", vec![], "boom".into()),
            _ => ("404 Not Found", vec![], "not found".into()),
        };
        let mut head = format!("HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nX-Site: ward-test\r\nContent-Length: {}\r\n", body.len());
        for h in extra {
            head.push_str(&h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(body.as_bytes())).is_err() {
            return;
        }
    }
}
