//! A small HTTP(S) client for what slack-morphism does not cover: `response_url` replies with
//! `response_type`, the demo's signed requests to its own server, and the `health` check.
//! It has no timeouts or retries of its own: callers set them (Slack's in `slack::client`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

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
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    pub fn new() -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HttpClient {
            inner: Client::builder(TokioExecutor::new()).build(https),
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

    async fn send(&self, req: hyper::Request<Full<Bytes>>) -> Result<HttpResponse, HttpError> {
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
