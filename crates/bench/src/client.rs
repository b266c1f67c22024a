//! One keep-alive HTTP/1.1 connection that sends SigV4-signed AWS Query requests.
//!
//! Every request is signed afresh (time = now) with `keyward-sigv4`; nothing of a signature is
//! reused. A request that fails because a reused keep-alive connection was closed underneath it is
//! signed again and sent once more on a new connection (never the same bytes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use keyward_sigv4::{RequestParts, SecretKey, SigningParams, sign_headers};
use time::OffsetDateTime;

/// The content type the AWS SDKs send for Query-protocol calls.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// How long one request may take before it counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where requests go, with which credentials, and what the server is expected to enforce.
pub struct Target {
    /// The server's address (loopback).
    pub addr: SocketAddr,
    /// The `host` header, `127.0.0.1:PORT`.
    pub host: String,
    /// Access key ID used to sign.
    pub access_key_id: String,
    /// Its secret.
    pub secret: SecretKey,
    /// The IAM user the key belongs to; `None` for the account's root user (or a server that
    /// accepts any key).
    pub user_name: Option<String>,
    /// Whether the server enforces IAM policies: keyward does; moto and the floor answer a call
    /// the caller's policies deny with 200. The authz mix counts a 200 from its denied target as
    /// an error only where this is true.
    pub enforces_iam: bool,
}

impl Target {
    /// A target at `addr` signing with the given key (the root user's, or any key for a server
    /// that checks none).
    pub fn new(
        addr: SocketAddr,
        access_key_id: &str,
        secret: &str,
        enforces_iam: bool,
    ) -> Arc<Self> {
        Arc::new(Self {
            addr,
            host: addr.to_string(),
            access_key_id: access_key_id.to_owned(),
            secret: SecretKey::new(secret),
            user_name: None,
            enforces_iam,
        })
    }

    /// The same server, signing as the IAM user `user_name` with one of its access keys.
    pub fn as_user(&self, user_name: &str, access_key_id: &str, secret: &str) -> Arc<Self> {
        Arc::new(Self {
            addr: self.addr,
            host: self.host.clone(),
            access_key_id: access_key_id.to_owned(),
            secret: SecretKey::new(secret),
            user_name: Some(user_name.to_owned()),
            enforces_iam: self.enforces_iam,
        })
    }
}

/// The service a request is signed for.
#[derive(Clone, Copy, Debug)]
pub enum Service {
    /// `iam`, API version 2010-05-08.
    Iam,
    /// `sts`, API version 2011-06-15.
    Sts,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }
}

/// A received response.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The text of the first `<tag>...</tag>` element of the body.
    pub fn element(&self, tag: &str) -> Option<&str> {
        let text = std::str::from_utf8(&self.body).ok()?;
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find("</")?;
        Some(&text[start..start + len])
    }

    /// A short description of a failed response: `STATUS Code`.
    pub fn describe(&self) -> String {
        match self.element("Code") {
            Some(code) => format!("{} {code}", self.status),
            None => format!("{}", self.status),
        }
    }
}

/// One keep-alive connection to a target, reconnecting when the server closes it.
pub struct Conn {
    target: Arc<Target>,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// New connections opened after the first.
    pub reconnects: u64,
    opened: u64,
}

impl Conn {
    /// A connection that will be opened on first use.
    pub fn new(target: Arc<Target>) -> Self {
        Self {
            target,
            sender: None,
            reconnects: 0,
            opened: 0,
        }
    }

    /// The target this connection sends to and signs for.
    pub fn target(&self) -> &Arc<Target> {
        &self.target
    }

    async fn connect(&mut self) -> Result<()> {
        let stream = tokio::net::TcpStream::connect(self.target.addr)
            .await
            .with_context(|| format!("connect to {}", self.target.addr))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.sender = Some(sender);
        if self.opened > 0 {
            self.reconnects += 1;
        }
        self.opened += 1;
        Ok(())
    }

    fn build(&self, service: Service, body: &str) -> Result<hyper::Request<Full<Bytes>>> {
        let t = &self.target;
        let headers = [("host", t.host.as_str()), ("content-type", CONTENT_TYPE)];
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let params = SigningParams {
            access_key_id: &t.access_key_id,
            secret: &t.secret,
            security_token: None,
            region: "us-east-1",
            service: service.name(),
            time: OffsetDateTime::now_utc(),
        };
        let signed = sign_headers(&parts, &params);
        let mut builder = hyper::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", t.host.as_str())
            .header("content-type", CONTENT_TYPE);
        for (name, value) in signed {
            builder = builder.header(name, value);
        }
        Ok(builder.body(Full::new(Bytes::copy_from_slice(body.as_bytes())))?)
    }

    /// Signs `body` (a Query form) for `service` and sends it; returns the whole response.
    pub async fn call(&mut self, service: Service, body: &str) -> Result<Reply> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.call_inner(service, body))
            .await
            .map_err(|_| anyhow!("timeout after {REQUEST_TIMEOUT:?}"))?
    }

    async fn call_inner(&mut self, service: Service, body: &str) -> Result<Reply> {
        for attempt in 0..2 {
            let usable = match &mut self.sender {
                Some(s) => s.ready().await.is_ok(),
                None => false,
            };
            let fresh = !usable;
            if fresh {
                self.sender = None;
                self.connect().await?;
            }
            let request = self.build(service, body)?;
            let sender = self
                .sender
                .as_mut()
                .ok_or_else(|| anyhow!("no connection"))?;
            match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.into_body().collect().await?.to_bytes();
                    return Ok(Reply { status, body });
                }
                // A reused keep-alive connection the server closed while idle: the request never
                // reached it. Sign again and use a new connection, once.
                Err(e) if !fresh && attempt == 0 && (e.is_canceled() || e.is_closed()) => {
                    self.sender = None;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(anyhow!("connection closed twice"))
    }
}
