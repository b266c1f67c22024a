//! Data survives a restart on the same data folder; root credentials are printed only once;
//! SIGTERM stops the server cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Server, Temp, sts_with, temp};

#[tokio::test]
async fn restart_keeps_data_and_does_not_reprint_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = Server::start_in(tmp.path(), &["--account-id", "123456789012"]);
    assert_eq!(first.account_id, "123456789012");
    assert!(
        first.banner.contains(&first.root_secret),
        "first start prints the root secret once"
    );
    let csv = std::fs::read_to_string(tmp.path().join("root_accessKeys.csv")).unwrap();
    assert_eq!(
        csv,
        format!(
            "Access key ID,Secret access key\n{},{}\n",
            first.root_key_id, first.root_secret
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["root_accessKeys.csv", "master.key"] {
            let mode = std::fs::metadata(tmp.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    first
        .root_iam()
        .create_user()
        .user_name("persisted")
        .send()
        .await
        .unwrap();
    // The secret is sealed at rest: the database never holds it in clear.
    let mut db = Vec::new();
    for f in [
        "keyward.db",
        "keyward.db-wal",
        "audit_reads.db",
        "audit_reads.db-wal",
    ] {
        if let Ok(bytes) = std::fs::read(tmp.path().join(f)) {
            db.extend(bytes);
        }
    }
    assert!(
        !db.windows(first.root_secret.len())
            .any(|w| w == first.root_secret.as_bytes())
    );
    let status = first.stop();
    assert!(status.success(), "SIGTERM exits cleanly: {status:?}");

    let second = Server::start_in(tmp.path(), &[]);
    assert!(!second.banner.contains(&first.root_secret));
    assert!(
        !second.banner.contains("AWS_SECRET_ACCESS_KEY"),
        "{}",
        second.banner
    );
    assert_eq!(second.account_id, "123456789012");
    assert_eq!(second.root_key_id, first.root_key_id);
    let user = second
        .root_iam()
        .get_user()
        .user_name("persisted")
        .send()
        .await
        .unwrap();
    assert_eq!(user.user().unwrap().user_name(), "persisted");
    let id = second
        .root_sts()
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(id.account(), Some("123456789012"));
}

/// The session-token sealing key rotates by restarting with the next
/// `--session-key-generation`: sessions sealed under the previous generation keep working, those
/// two generations old are refused as an invalid token.
#[tokio::test]
async fn session_key_rotation_keeps_live_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let session = |server: &Server, key: &str, secret: &str| {
        let sts = server.sts(key, secret);
        async move {
            let c = sts
                .get_session_token()
                .send()
                .await
                .unwrap()
                .credentials
                .unwrap();
            temp(&c)
        }
    };
    let caller = |server: &Server, t: &Temp| {
        let sts = sts_with(server, t, None);
        async move { sts.get_caller_identity().send().await.map(|_| ()) }
    };

    let mut first = Server::start_in(tmp.path(), &[]);
    let (key, secret) = first.new_user_with_key("rotator").await;
    let gen0 = session(&first, &key, &secret).await;
    caller(&first, &gen0).await.unwrap();
    assert!(first.stop().success());

    let mut second = Server::start_in(tmp.path(), &["--session-key-generation", "1"]);
    caller(&second, &gen0)
        .await
        .expect("a session of the previous generation still works");
    let gen1 = session(&second, &key, &secret).await;
    caller(&second, &gen1).await.unwrap();
    assert!(second.stop().success());

    let third = Server::start_in(tmp.path(), &["--session-key-generation", "2"]);
    caller(&third, &gen1).await.unwrap();
    let err = caller(&third, &gen0).await.unwrap_err();
    assert_eq!(
        common::aws_error(&err),
        (
            "InvalidClientTokenId".into(),
            "The security token included in the request is invalid.".into(),
            403
        )
    );
}
