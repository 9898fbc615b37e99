//! A small HTTP(S) client for what slack-morphism does not cover: `response_url` replies with
//! `response_type`, the demo's signed requests to its own server, and the `health` check.
//! It has no timeouts or retries of its own: callers set them (Slack's in `slack::client`).
//!
//! It also holds the one outbound connector every hand-made client uses (this one, the Slack Web
//! API's, Socket Mode's WebSocket): [`ProxyConnector`] honours `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` (and their lowercase forms) as curl does, tunnelling `https` (and
//! every WebSocket) through `CONNECT` and sending plain `http` to the proxy in absolute form
//! (README "Configuration", outbound proxy). The AWS SDK's own client reads the same variables.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The proxy settings from the environment, read once at start.
#[derive(Clone, Default)]
pub struct Proxies {
    matcher: Option<Arc<Matcher>>,
}

impl std::fmt::Debug for Proxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The matcher leaves credentials out of its own Debug.
        f.debug_struct("Proxies")
            .field("matcher", &self.matcher)
            .finish()
    }
}

const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl Proxies {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, upper or lower case.
    pub fn from_env() -> Self {
        let any = PROXY_VARS
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        Proxies {
            matcher: any.then(|| Arc::new(Matcher::from_env())),
        }
    }

    /// `proxy` for every destination (`ALL_PROXY`), except the hosts in `no_proxy`
    /// (`NO_PROXY`'s form).
    pub fn all(proxy: &str, no_proxy: Option<&str>) -> Self {
        let mut b = Matcher::builder().all(proxy.to_string());
        if let Some(no) = no_proxy {
            b = b.no(no.to_string());
        }
        Proxies {
            matcher: Some(Arc::new(b.build())),
        }
    }

    /// No proxy at all.
    pub fn none() -> Self {
        Proxies { matcher: None }
    }

    /// The proxy for `dst`, if one applies.
    pub fn intercept(&self, dst: &Uri) -> Option<Intercept> {
        self.matcher.as_ref()?.intercept(dst)
    }
}

/// A connection made by [`ProxyConnector`]: direct, through a `CONNECT` tunnel, or to a proxy
/// that forwards plain HTTP (then hyper writes the request in absolute form).
pub struct ProxyStream {
    io: TokioIo<TcpStream>,
    forwarded: bool,
}

impl hyper::rt::Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forwarded)
    }
}

/// TCP connections that go through the configured proxy where one applies.
#[derive(Clone)]
pub struct ProxyConnector {
    http: HttpConnector,
    proxies: Proxies,
}

impl ProxyConnector {
    pub fn new(proxies: Proxies) -> Self {
        let mut http = HttpConnector::new();
        // `https` destinations reach here too: TLS is the layer above.
        http.enforce_http(false);
        http.set_nodelay(true);
        ProxyConnector { http, proxies }
    }

    /// A TCP stream to `dst`'s host and port, through a `CONNECT` tunnel when a proxy applies
    /// (a proxy cannot forward a WebSocket as a plain request).
    pub async fn tunnel(&self, dst: Uri) -> Result<TcpStream, BoxError> {
        use tower_service::Service;
        let io = match self.proxies.intercept(&dst) {
            None => self.http.clone().call(dst).await?,
            Some(proxy) => via_tunnel(self.http.clone(), &proxy, dst).await?,
        };
        Ok(io.into_inner())
    }
}

async fn via_tunnel(
    http: HttpConnector,
    proxy: &Intercept,
    dst: Uri,
) -> Result<TokioIo<TcpStream>, BoxError> {
    use tower_service::Service;
    let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
    if let Some(auth) = proxy.basic_auth() {
        tunnel = tunnel.with_auth(auth.clone());
    }
    std::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
    Ok(tunnel.call(dst).await?)
}

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let proxy = self.proxies.intercept(&dst);
        Box::pin(async move {
            match proxy {
                None => Ok(ProxyStream {
                    io: http.call(dst).await?,
                    forwarded: false,
                }),
                Some(proxy) if dst.scheme_str() == Some("https") => Ok(ProxyStream {
                    io: via_tunnel(http, &proxy, dst).await?,
                    forwarded: false,
                }),
                Some(proxy) => Ok(ProxyStream {
                    io: http.call(proxy.uri().clone()).await?,
                    forwarded: true,
                }),
            }
        })
    }
}

/// HTTPS (or plain HTTP) over [`ProxyConnector`], with the system's trusted roots.
pub fn https_connector(proxies: Proxies) -> std::io::Result<HttpsConnector<ProxyConnector>> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .wrap_connector(ProxyConnector::new(proxies)))
}

pub struct HttpResponse {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
}

/// Why a request got no answer. An answer with any status is not an error here.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot build the request")]
    Request(#[from] hyper::http::Error),
    #[error("no answer")]
    Send(#[from] hyper_util::client::legacy::Error),
    #[error("the answer broke off")]
    Body(#[from] hyper::Error),
}

#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<ProxyConnector>, Full<Bytes>>,
    proxies: Proxies,
}

impl HttpClient {
    /// A client that goes through the proxy the environment names, if any.
    pub fn new() -> std::io::Result<Self> {
        Self::with_proxies(Proxies::from_env())
    }

    pub fn with_proxies(proxies: Proxies) -> std::io::Result<Self> {
        Ok(HttpClient {
            inner: Client::builder(TokioExecutor::new()).build(https_connector(proxies.clone())?),
            proxies,
        })
    }

    /// GET a URL; returns the status and the response body.
    pub async fn get(&self, url: &str) -> Result<(u16, String), HttpError> {
        let r = self
            .send(hyper::Request::get(url).body(Full::new(Bytes::new()))?)
            .await?;
        Ok((r.status, r.body))
    }

    /// POST a body; returns the status and the response body.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<(u16, String), HttpError> {
        self.post_full(url, headers, body)
            .await
            .map(|r| (r.status, r.body))
    }

    /// POST a body; the whole answer, with `Retry-After` when given in seconds.
    pub async fn post_full(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<HttpResponse, HttpError> {
        let mut req = hyper::Request::post(url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.send(req.body(Full::new(Bytes::from(body)))?).await
    }

    async fn send(&self, mut req: hyper::Request<Full<Bytes>>) -> Result<HttpResponse, HttpError> {
        // A proxy that forwards plain HTTP reads its credentials from each request (a tunnel
        // sends them with CONNECT).
        if req.uri().scheme_str() == Some("http")
            && let Some(auth) = self
                .proxies
                .intercept(req.uri())
                .and_then(|p| p.basic_auth().cloned())
        {
            req.headers_mut()
                .insert(hyper::header::PROXY_AUTHORIZATION, auth);
        }
        let resp = self.inner.request(req).await?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok(HttpResponse {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            retry_after,
        })
    }
}
