//! Heavier fixtures: the bot as a separate process, and a connection to moto that can be cut.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::*;

/// `revoke-role-bot serve` as its own process on a free loopback port, with its log (stderr, JSON
/// lines) collected. Killed when dropped.
pub struct BotProcess {
    child: tokio::process::Child,
    log: Arc<Mutex<String>>,
    pub base: String,
}

impl BotProcess {
    /// On an existing table, with the tests' base configuration.
    pub async fn start(table: &str, slack_api: &str, aws_endpoint: &str) -> BotProcess {
        Self::start_with(&base_config(table), slack_api, aws_endpoint).await
    }

    /// With the given configuration file text.
    pub async fn start_with(config_text: &str, slack_api: &str, aws_endpoint: &str) -> BotProcess {
        use tokio::io::AsyncBufReadExt;

        let config = tempfile_with(config_text);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_revoke-role-bot"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("AWS_ENDPOINT_URL", aws_endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("SLACK_SIGNING_SECRET", SECRET)
            .env("SLACK_BOT_TOKEN", "xoxb-test-token")
            .env("SLACK_API_URL", slack_api)
            .env_remove("SLACK_APP_TOKEN")
            .env("LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
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
            child,
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
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("still running").to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait())
            .await
            .expect("the bot did not stop on SIGTERM")
            .unwrap()
    }

    /// SIGKILL: no shutdown, no draining.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    pub async fn post_signed(&self, route: &str, body: String) -> u16 {
        let mut req = reqwest::Client::new()
            .post(format!("{}{route}", self.base))
            .body(body.clone());
        for (k, v) in signed_headers(&body, chrono::Utc::now().timestamp()) {
            req = req.header(k, v);
        }
        req.send().await.unwrap().status().as_u16()
    }
}

/// A TCP relay to moto that can be cut (new and open connections fail) and restored, so that
/// "AWS is down" keeps moto's state for when it comes back.
pub struct Cuttable {
    pub endpoint: String,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Cuttable {
    pub async fn to_moto() -> Cuttable {
        let target: SocketAddr = moto_endpoint()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (u, o) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !u.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                o.lock().unwrap().push(relay.abort_handle());
            }
        });
        Cuttable { endpoint, up, open }
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for h in self.open.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    pub async fn aws_config(&self) -> aws_config::SdkConfig {
        aws_config_at(&self.endpoint).await
    }
}
