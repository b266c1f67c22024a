//! Data survives a restart on the same data folder; root credentials are printed only once;
//! SIGTERM stops the server cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Server;

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
    for f in ["keyward.db", "keyward.db-wal"] {
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
