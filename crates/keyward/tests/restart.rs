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

/// The data folder holds password hashes, sealed secrets, the master key and the audit trail:
/// keyward makes it 0700 and every file it keeps there 0600 (SQLite's `-wal` and `-shm` too),
/// whatever the umask; on a start over looser modes (an older keyward, a copy, a `chmod`) it
/// tightens them back and warns once.
#[cfg(unix)]
#[tokio::test]
async fn data_folder_and_its_files_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;

    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let set_mode = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    let files = |dir: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    // Every file of the folder is 0600, and there are the ones a running server keeps.
    let assert_owner_only = |dir: &std::path::Path| {
        assert_eq!(format!("{:o}", mode(dir)), "700", "the data folder");
        let names = files(dir);
        for name in &names {
            assert_eq!(format!("{:o}", mode(&dir.join(name))), "600", "{name}");
        }
        for name in [
            "audit_reads.db",
            "audit_reads.db-shm",
            "audit_reads.db-wal",
            "keyward.db",
            "keyward.db-shm",
            "keyward.db-wal",
            "master.key",
            "root_accessKeys.csv",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} missing from {names:?}"
            );
        }
    };
    let warnings = |log: &std::path::Path| {
        std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("owner-only"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("server.log");
    // A fresh folder under umask 022, where files default to 0644 and folders to 0755.
    let first = Server::start_with_umask(&data, "022", &log);
    let iam = first.root_iam();
    iam.create_user().user_name("u").send().await.unwrap();
    iam.get_user().user_name("u").send().await.unwrap();
    assert_owner_only(&data);
    assert_eq!(warnings(&log), Vec::<String>::new());

    // Killed (its -wal and -shm stay), then everything opened up to the world.
    drop(first);
    set_mode(&data, 0o755);
    for name in files(&data) {
        set_mode(&data.join(name), 0o644);
    }
    let mut second = Server::start_with_umask(&data, "022", &log);
    second
        .root_iam()
        .get_user()
        .user_name("u")
        .send()
        .await
        .unwrap();
    assert_owner_only(&data);
    let warned = warnings(&log);
    assert_eq!(warned.len(), 1, "{warned:?}");
    for name in [
        "data",
        "keyward.db-wal",
        "keyward.db-shm",
        "master.key",
        "root_accessKeys.csv",
    ] {
        assert!(warned[0].contains(name), "{name} in {warned:?}");
    }
    assert!(second.stop().success());

    // Nothing left to tighten: no warning.
    let third = Server::start_with_umask(&data, "022", &log);
    third
        .root_iam()
        .get_user()
        .user_name("u")
        .send()
        .await
        .unwrap();
    assert_owner_only(&data);
    assert_eq!(warnings(&log), Vec::<String>::new());
}
