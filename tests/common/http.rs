//! A tiny HTTP/1.1 server for tests: reads one request per connection and
//! hands it to a handler. Enough for the API doubles, nothing more.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub async fn read_req(sock: &mut tokio::net::TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if buf[0] == 0x16 {
            // A TLS ClientHello on a plain-HTTP port: answer like an HTTP server does.
            let _ = sock
                .write_all(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
                .await;
            return None;
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let (path, query) = target
        .split_once('?')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or((target, String::new()));
    Some(Req {
        method,
        path,
        query,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

/// What a simple handler answers.
pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
    /// A long-lived chunked body (a Kubernetes watch): each line sent on
    /// the channel is written as it comes, until the sender is dropped or
    /// `until` has passed, as a server's `timeoutSeconds` ends a watch.
    pub stream: Option<Stream>,
    /// Headers besides content-type and length (a 429's Retry-After).
    pub headers: Vec<(String, String)>,
}

pub struct Stream {
    pub lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    pub until: Duration,
}

impl Resp {
    pub fn json(status: u16, body: serde_json::Value) -> Resp {
        Resp {
            status,
            content_type: "application/json",
            body: body.to_string(),
            delay: Duration::ZERO,
            stream: None,
            headers: Vec::new(),
        }
    }
    pub fn text(status: u16, body: &str) -> Resp {
        Resp {
            status,
            content_type: "text/plain",
            body: body.into(),
            delay: Duration::ZERO,
            stream: None,
            headers: Vec::new(),
        }
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> Resp + Send + Sync>;

/// Serves `handler` on 127.0.0.1 (an ephemeral port) from its own thread;
/// every request is also recorded.
pub fn serve(handler: Handler) -> (SocketAddr, Arc<Mutex<Vec<Req>>>) {
    let (addr, seen, _door) = serve_with_door(handler);
    (addr, seen)
}

/// Whether the server takes new connections. Closed, its port is not
/// listened on (a new connection is refused by the kernel, as when an API
/// server's process is gone or a load balancer drops it) while the
/// connections it already holds (an open watch) go on streaming.
#[derive(Clone, Default)]
pub struct Door(Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>);

impl Door {
    pub fn close(&self) {
        self.0.0.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.1.notify_waiters();
    }
    pub fn open(&self) {
        self.0.0.store(false, std::sync::atomic::Ordering::SeqCst);
        self.0.1.notify_waiters();
    }
    fn closed(&self) -> bool {
        self.0.0.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Waits until the door is set the other way than `closed`.
    async fn turned(&self, closed: bool) {
        loop {
            let n = self.0.1.notified();
            if self.closed() != closed {
                return;
            }
            n.await;
        }
    }
}

/// As [`serve`], with the [`Door`] that stops and restarts listening.
pub fn serve_with_door(handler: Handler) -> (SocketAddr, Arc<Mutex<Vec<Req>>>, Door) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let door = Door::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let (s2, d2) = (seen.clone(), door.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tx.send(addr).unwrap();
            let mut l = Some(l);
            loop {
                let Some(listener) = l.as_ref() else {
                    // Closed: nothing listens until the door opens again.
                    d2.turned(true).await;
                    l = tokio::net::TcpListener::bind(addr).await.ok();
                    continue;
                };
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = d2.turned(false) => {
                        l = None;
                        continue;
                    }
                };
                let Ok((sock, _)) = accepted else { return };
                tokio::spawn(answer(sock, handler.clone(), s2.clone()));
            }
        });
    });
    (rx.recv().unwrap(), seen, door)
}

/// Reads one request from `sock` and writes the handler's answer.
async fn answer(mut sock: tokio::net::TcpStream, h: Handler, seen: Arc<Mutex<Vec<Req>>>) {
    let Some(req) = read_req(&mut sock).await else {
        return;
    };
    seen.lock().unwrap().push(req.clone());
    let r = h(&req);
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
    if let Some(st) = r.stream {
        write_stream(&mut sock, r.status, r.content_type, &r.body, st).await;
        return;
    }
    let extra: String = r
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let resp = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{}",
        r.status,
        r.content_type,
        r.body.len(),
        r.body
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// Writes a chunked body: `first`, then each line as it arrives.
async fn write_stream(
    sock: &mut tokio::net::TcpStream,
    status: u16,
    content_type: &str,
    first: &str,
    mut st: Stream,
) {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    if sock.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = |s: &str| format!("{:x}\r\n{s}\r\n", s.len());
    if !first.is_empty() && sock.write_all(chunk(first).as_bytes()).await.is_err() {
        return;
    }
    let end = tokio::time::Instant::now() + st.until;
    loop {
        tokio::select! {
            l = st.lines.recv() => match l {
                Some(l) => {
                    if sock.write_all(chunk(&l).as_bytes()).await.is_err() {
                        return;
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep_until(end) => break,
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let _ = sock.shutdown().await;
}

/// Decodes a query string's `%XX` escapes and `+` spaces.
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
