//! Rendering one request's CloudTrail record (what the audit trail stores and the JSON-lines sink
//! writes): a GetCallerIdentity of an IAM user and a CreateUser with parameters and response.
//! `cargo bench -p keyward-core --bench audit_record`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_core::audit::AuditEvent;
use serde_json::json;

fn event(name: &str, read_only: bool) -> AuditEvent {
    AuditEvent {
        event_id: "9f1f0f3e-4a1b-4c49-9d3e-7d1c1e2f3a4b".into(),
        event_time: time::macros::datetime!(2026-11-25 10:00:00 UTC),
        event_source: "sts.amazonaws.com".into(),
        event_name: name.into(),
        aws_region: "us-east-1".into(),
        source_ip: "127.0.0.1".into(),
        user_agent: Some("aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0".into()),
        request_id: "4c6c9d6e-2b2f-4f0e-8f55-0d2b7e1c9a10".into(),
        read_only,
        identity_type: Some("IAMUser".into()),
        principal_id: Some("AIDAJQABLZS4A3QDU576Q".into()),
        principal_arn: Some("arn:aws:iam::111122223333:user/alice".into()),
        account_id: Some("111122223333".into()),
        access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
        user_name: Some("alice".into()),
        error_code: None,
        error_message: None,
        event_type: "AwsApiCall".into(),
        session: None,
        request_parameters: (!read_only).then(|| json!({"userName": "bob", "path": "/"})),
        response_elements: (!read_only).then(|| {
            json!({"user": {"userName": "bob", "userId": "AIDAEXAMPLEBOB0000001",
                "arn": "arn:aws:iam::111122223333:user/bob", "path": "/",
                "createDate": "Nov 25, 2026 10:00:00 AM"}})
        }),
        additional_event_data: None,
        resources: if read_only {
            vec![]
        } else {
            vec![("AWS::IAM::User".into(), "bob".into())]
        },
    }
}

fn bench(c: &mut Criterion) {
    let read = event("GetCallerIdentity", true);
    let write = event("CreateUser", false);
    c.bench_function("record_get_caller_identity", |b| {
        b.iter(|| black_box(&read).record_json())
    });
    c.bench_function("record_create_user", |b| {
        b.iter(|| black_box(&write).record_json())
    });
    // What the store writes on the request path instead (the record is rendered when read).
    c.bench_function("compact_get_caller_identity", |b| {
        b.iter(|| black_box(&read).compact_json())
    });
    c.bench_function("compact_create_user", |b| {
        b.iter(|| black_box(&write).compact_json())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
