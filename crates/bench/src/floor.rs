//! The loopback floor: a trivial keep-alive HTTP/1.1 server that reads the request and answers a
//! fixed ~480-byte XML document. What no real server on this machine can beat.

use std::convert::Infallible;

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The fixed answer, shaped like a `GetCallerIdentity` response. It carries `AccessKeyId` and
/// `SecretAccessKey` elements so the write mix and the authz mix's setup (which read them from
/// `CreateAccessKey`) can run against the floor too.
pub const FLOOR_XML: &str = concat!(
    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">",
    "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn>",
    "<UserId>123456789012</UserId><Account>123456789012</Account>",
    "<AccessKeyId>AKIAFLOORFLOORFLOOR0</AccessKeyId>",
    "<SecretAccessKey>floorfloorfloorfloorfloorfloorfloorfloor</SecretAccessKey>",
    "</GetCallerIdentityResult>",
    "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>",
    "</ResponseMetadata></GetCallerIdentityResponse>\n"
);

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the whole body, as any real server must.
    let _ = request.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(FLOOR_XML.as_bytes())));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml"),
    );
    Ok(response)
}

/// Serves the floor on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
