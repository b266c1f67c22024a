//! The SigV4 parser: an `Authorization` header, or presigned query parameters, with the date
//! and token headers. The input is split at NUL bytes into the query string, the
//! `Authorization` value, `X-Amz-Date` and `X-Amz-Security-Token`.
#![no_main]

use keyward_sigv4::RequestParts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0).map(String::from_utf8_lossy);
    let query = parts.next().unwrap_or_default();
    let authorization = parts.next();
    let date = parts.next();
    let token = parts.next();
    let mut headers = vec![("host", "127.0.0.1:4600")];
    if let Some(a) = &authorization {
        headers.push(("authorization", a));
    }
    if let Some(d) = &date {
        headers.push(("x-amz-date", d));
    }
    if let Some(t) = &token {
        headers.push(("x-amz-security-token", t));
    }
    let req = RequestParts {
        method: "POST",
        path: "/",
        query: &query,
        headers: &headers,
        body: b"Action=GetCallerIdentity&Version=2011-06-15",
    };
    if let Ok(Some(parsed)) = keyward_sigv4::parse(&req) {
        let _ = keyward_sigv4::check_scope(&parsed, |r| !r.is_empty(), "sts");
    }
});
