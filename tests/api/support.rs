//! Heavier fixtures: the bot as a separate process, and a connection to moto that can be cut.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::*;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `revoke-role-bot serve` as its own process, on a fixed loopback port.
pub struct BotProcess {
    child: Child,
    pub base: String,
}

impl BotProcess {
    pub async fn start(table: &str, slack_api: &str, aws_endpoint: &str) -> BotProcess {
        let port = free_port();
        let config =
            tempfile_with(&base_config(table).replace("127.0.0.1:0", &format!("127.0.0.1:{port}")));
        let child = Command::new(env!("CARGO_BIN_EXE_revoke-role-bot"))
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("SLACK_SIGNING_SECRET", SECRET)
            .env("SLACK_BOT_TOKEN", "xoxb-test-token")
            .env("SLACK_API_URL", slack_api)
            .env("AWS_ENDPOINT_URL", aws_endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("RUST_LOG", "warn")
            .env_remove("SLACK_APP_TOKEN")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let health = format!("{base}/healthz");
        eventually("the bot process to listen", || async {
            reqwest::get(&health).await.ok().map(|_| ())
        })
        .await;
        BotProcess { child, base }
    }

    /// SIGTERM, then wait (up to 30 s) for the process to exit; its exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the bot did not stop on SIGTERM"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no draining.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.kill();
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
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }
}
