//! Heavier fixtures: the bot as a separate process, and proxies in front of the emulators that
//! can cut the connection or hold a call.

use std::convert::Infallible;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use crate::helpers::*;

/// `revoke-role-bot serve` as its own process on a free loopback port, with its log (stderr, JSON
/// lines) collected. Killed when dropped.
pub struct BotProcess {
    child: tokio::sync::Mutex<tokio::process::Child>,
    log: Arc<Mutex<String>>,
    pub base: String,
}

/// How a bot process is given its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigVia {
    /// `--config FILE`.
    Flag,
    /// `REVOKE_ROLE_BOT_CONFIG_TOML`: the text itself.
    TomlVariable,
}

impl BotProcess {
    /// With the given configuration text given `via` a flag or the environment, Slack's Web API
    /// at `slack_api`, AWS at `endpoints`, and `extra` environment variables (a proxy, say).
    pub async fn start_with(
        config_text: &str,
        via: ConfigVia,
        slack_api: &str,
        endpoints: &Endpoints,
        extra: &[(&str, String)],
    ) -> BotProcess {
        use tokio::io::AsyncBufReadExt;

        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_revoke-role-bot"));
        bot_env(&mut cmd, endpoints);
        match via {
            ConfigVia::Flag => {
                cmd.arg("--config").arg(tempfile_with(config_text));
            }
            ConfigVia::TomlVariable => {
                cmd.env("REVOKE_ROLE_BOT_CONFIG_TOML", config_text);
            }
        }
        cmd.arg("serve");
        cmd.env("SLACK_SIGNING_SECRET", SECRET)
            .env("SLACK_BOT_TOKEN", "xoxb-test-token")
            .env("SLACK_API_URL", slack_api)
            .env("LOG_FORMAT", "json");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start revoke-role-bot serve");
        let log = Arc::new(Mutex::new(String::new()));
        let mut lines =
            tokio::io::BufReader::new(child.stderr.take().expect("stderr piped")).lines();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        let mut process = BotProcess {
            child: tokio::sync::Mutex::new(child),
            log,
            base: String::new(),
        };
        let started = &process;
        let addr = eventually("the bot process to listen", || async move {
            started.log().lines().find_map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).ok()?;
                (v["fields"]["message"] == "listening")
                    .then(|| v["fields"]["addr"].as_str().map(str::to_string))
                    .flatten()
            })
        })
        .await;
        process.base = format!("http://{addr}");
        process
    }

    /// Everything the process has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// SIGTERM, then wait (up to 30 s) for the process to exit; its exit status.
    pub async fn terminate(&self) -> std::process::ExitStatus {
        let mut child = self.child.lock().await;
        if let Some(pid) = child.id() {
            std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .unwrap();
        }
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("the bot did not stop on SIGTERM")
            .unwrap()
    }

    /// SIGKILL: no shutdown, no draining.
    pub async fn kill(&self) {
        let _ = self.child.lock().await.kill().await;
    }
}

/// A proxy in front of each emulator, so that a test can take AWS away from one server (and
/// bring it back with its state) or hold one DynamoDB call in flight.
pub struct AwsProxies {
    pub dynamodb: Proxy,
    pub moto: Proxy,
}

impl AwsProxies {
    pub async fn start(to: &Endpoints) -> AwsProxies {
        AwsProxies {
            dynamodb: Proxy::start(&to.dynamodb).await,
            moto: Proxy::start(&to.moto).await,
        }
    }

    /// Where a server finds AWS through these proxies.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            dynamodb: self.dynamodb.endpoint.clone(),
            moto: self.moto.endpoint.clone(),
        }
    }

    /// AWS is down: open connections are dropped and new ones refused.
    pub fn cut(&self) {
        self.dynamodb.cut();
        self.moto.cut();
    }

    pub fn restore(&self) {
        self.dynamodb.restore();
        self.moto.restore();
    }
}

/// An HTTP proxy to one emulator on a free loopback port.
pub struct Proxy {
    pub endpoint: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    upstream: String,
    up: AtomicBool,
    open: Mutex<Vec<AbortHandle>>,
    holds: Mutex<Vec<Hold>>,
    http: reqwest::Client,
}

struct Hold {
    parts: Vec<String>,
    delay: Duration,
    status: u16,
    seen: Arc<AtomicU32>,
    /// Forward the call, then answer `status` instead of the emulator's answer (a response lost
    /// after the write was made).
    lose_response: bool,
    body: Arc<Mutex<String>>,
}

/// A call held by `Proxy::hold`.
pub struct Held {
    seen: Arc<AtomicU32>,
    body: Arc<Mutex<String>>,
}

impl Held {
    /// Wait until the call has arrived (and is being held).
    pub async fn arrived(&self) {
        eventually("the held call to arrive", || async {
            (self.seen.load(Ordering::SeqCst) > 0).then_some(())
        })
        .await;
    }

    pub fn seen(&self) -> bool {
        self.seen.load(Ordering::SeqCst) > 0
    }

    /// The body of the call as it arrived.
    pub fn body(&self) -> String {
        self.body.lock().unwrap().clone()
    }
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            up: AtomicBool::new(true),
            open: Mutex::default(),
            holds: Mutex::default(),
            http: reqwest::Client::new(),
        });
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if !s.up.load(Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let per_conn = s.clone();
                let conn = tokio::spawn(async move {
                    let service = service_fn(move |req| forward(per_conn.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                s.open.lock().unwrap().push(conn.abort_handle());
            }
        });
        Proxy { endpoint, state }
    }

    /// Drop every open connection and refuse new ones.
    pub fn cut(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        for h in self.state.open.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    pub fn restore(&self) {
        self.state.up.store(true, Ordering::SeqCst);
    }

    /// The next call whose body contains every one of `parts` is held for `delay`, then refused
    /// with `status` (a DynamoDB InternalServerError) without reaching the emulator.
    pub fn hold(&self, parts: &[&str], delay: Duration, status: u16) -> Held {
        let seen = Arc::new(AtomicU32::new(0));
        self.state.holds.lock().unwrap().push(Hold {
            parts: parts.iter().map(|p| p.to_string()).collect(),
            delay,
            status,
            seen: seen.clone(),
            lose_response: false,
            body: Arc::default(),
        });
        Held {
            seen,
            body: Arc::default(),
        }
    }

    /// The next call whose body contains every one of `parts` reaches the emulator, which makes
    /// the write, but its answer is lost: the caller gets a 500 and retries.
    pub fn lose_response(&self, parts: &[&str]) -> Held {
        let seen = Arc::new(AtomicU32::new(0));
        let body = Arc::new(Mutex::new(String::new()));
        self.state.holds.lock().unwrap().push(Hold {
            parts: parts.iter().map(|p| p.to_string()).collect(),
            delay: Duration::ZERO,
            status: 500,
            seen: seen.clone(),
            lose_response: true,
            body: body.clone(),
        });
        Held { seen, body }
    }
}

async fn forward(
    state: Arc<ProxyState>,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let held = {
        let mut holds = state.holds.lock().unwrap();
        let i = holds
            .iter()
            .position(|h| h.parts.iter().all(|p| text.contains(p.as_str())));
        i.map(|i| holds.remove(i))
    };
    if let Some(h) = &held {
        h.seen.fetch_add(1, Ordering::SeqCst);
        *h.body.lock().unwrap() = text.to_string();
    }
    let lost = held.as_ref().is_some_and(|h| h.lose_response);
    if let Some(h) = held.filter(|h| !h.lose_response) {
        tokio::time::sleep(h.delay).await;
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}"#;
        return Ok(hyper::Response::builder()
            .status(h.status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(Bytes::from(body)))
            .unwrap());
    }
    let url = format!(
        "{}{}",
        state.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut out = state.http.request(parts.method, url).body(body);
    for (k, v) in &parts.headers {
        if k != hyper::header::HOST && k != hyper::header::CONTENT_LENGTH {
            out = out.header(k, v);
        }
    }
    let response = match out.send().await {
        Ok(r) => r,
        Err(_) => {
            return Ok(hyper::Response::builder()
                .status(502)
                .body(Full::new(Bytes::new()))
                .unwrap());
        }
    };
    let mut back = hyper::Response::builder().status(response.status());
    for (k, v) in response.headers() {
        if k != hyper::header::CONTENT_LENGTH
            && k != hyper::header::TRANSFER_ENCODING
            && k != hyper::header::CONNECTION
        {
            back = back.header(k, v);
        }
    }
    let bytes = response.bytes().await.unwrap_or_default();
    if lost {
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"response lost"}"#;
        return Ok(hyper::Response::builder()
            .status(500)
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(Bytes::from(body)))
            .unwrap());
    }
    Ok(back.body(Full::new(bytes)).unwrap())
}
