//! Issue 24, defect 3: idle or trickling connections cannot hold the server. A stalled request
//! head, a kept-alive connection left idle and a trickling body are closed after their timeouts;
//! past `--max-connections` a connection is refused at once and counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Server;

fn start(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), extra);
    (tmp, server)
}

/// Reads until the server closes `s`, for at most 10 s; returns what it sent.
fn read_until_closed(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the server kept the connection open for 10 s ({e}); it sent: {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends one keep-alive `GET /healthz` on `s` and reads its (known-length) answer.
fn healthz(s: &mut TcpStream) {
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: keyward\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"ok\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
}

/// `GET /metrics`, retried for up to 10 s while connections just released are still counted.
fn metrics(server: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = TcpStream::connect(&server.addr).unwrap();
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: keyward\r\nConnection: close\r\n\r\n");
        let answer = read_until_closed(&mut s);
        if answer.starts_with("HTTP/1.1 200") {
            return answer;
        }
        assert!(Instant::now() < deadline, "GET /metrics: {answer:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of one sample of the exposition (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Slowloris: a request head that starts and then stalls is cut after the header timeout.
#[test]
fn a_stalled_request_head_is_closed() {
    let (_tmp, server) = start(&["--header-read-timeout-secs", "1"]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: keyward\r\nX-Amz-")
        .unwrap();
    assert_eq!(read_until_closed(&mut s), "");
    // A connection that never sends a byte is held to the same limit.
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    assert_eq!(read_until_closed(&mut silent), "");
    let text = metrics(&server);
    assert_eq!(
        sample(&text, "keyward_connection_timeouts_total{phase=\"header\"}"),
        2.0
    );
}

/// A kept-alive connection may wait longer than a head may take, but not past the idle timeout.
#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let (_tmp, server) = start(&[
        "--header-read-timeout-secs",
        "1",
        "--idle-timeout-secs",
        "3",
    ]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    healthz(&mut s);
    std::thread::sleep(Duration::from_millis(1500));
    healthz(&mut s);
    assert_eq!(read_until_closed(&mut s), "");
    let text = metrics(&server);
    assert_eq!(
        sample(&text, "keyward_connection_timeouts_total{phase=\"idle\"}"),
        1.0
    );
}

/// A body that trickles is answered `RequestTimeout` after the body timeout, and closed.
#[test]
fn a_slow_body_is_cut_off() {
    let (_tmp, server) = start(&["--body-read-timeout-secs", "1"]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(
        b"POST / HTTP/1.1\r\nHost: keyward\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 100\r\n\r\nAction=GetCallerIdentity",
    )
    .unwrap();
    let answer = read_until_closed(&mut s);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>RequestTimeout</Code>"), "{answer}");
    let text = metrics(&server);
    assert_eq!(
        sample(&text, "keyward_connection_timeouts_total{phase=\"body\"}"),
        1.0
    );
}

/// Past `--max-connections` a connection is refused at once and counted; once the held ones
/// are released, signed requests are served again.
#[tokio::test]
async fn connections_past_the_limit_are_refused_and_counted() {
    let (_tmp, server) = start(&[
        "--max-connections",
        "20",
        "--header-read-timeout-secs",
        "60",
    ]);
    let held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();
    let mut extra = TcpStream::connect(&server.addr).unwrap();
    let answer = read_until_closed(&mut extra);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
        "{answer}"
    );
    drop(held);
    let text = metrics(&server);
    assert!(
        sample(&text, "keyward_connections_refused_total") >= 1.0,
        "{text}"
    );
    let me = server
        .root_sts()
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account.as_deref(), Some(server.account_id.as_str()));
}
