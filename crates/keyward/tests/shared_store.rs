//! Two servers on one data folder (two processes, one database): a change committed by one is
//! seen by the other's very next request with `--change-check-ms 0` (within the period otherwise),
//! because the caches follow the store's change token, not only the process's own writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Server, aws_error};

#[tokio::test]
async fn a_key_deactivated_on_one_node_is_refused_by_the_other_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Server::start_in(tmp.path(), &["--change-check-ms", "0"]);
    let b = Server::start_in(tmp.path(), &["--change-check-ms", "0"]);
    let (key, secret) = a.new_user_with_key("shared").await;

    // Node B resolves and caches the key, and the user's policies (none: GetUser of itself is
    // refused with an implicit deny).
    let on_b = b.sts(&key, &secret);
    on_b.get_caller_identity().send().await.unwrap();
    on_b.get_caller_identity().send().await.unwrap();

    // Node A deactivates it; node B's next request must see that.
    a.root_iam()
        .update_access_key()
        .user_name("shared")
        .access_key_id(&key)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let err = on_b.get_caller_identity().send().await.unwrap_err();
    let (code, _, _) = aws_error(&err);
    assert_eq!(code, "InvalidClientTokenId");

    // And a policy attached on B is honoured by A's next request.
    a.root_iam()
        .update_access_key()
        .user_name("shared")
        .access_key_id(&key)
        .status(aws_sdk_iam::types::StatusType::Active)
        .send()
        .await
        .unwrap();
    let on_a = a.iam(&key, &secret);
    let denied = on_a
        .get_user()
        .user_name("shared")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&denied).0, "AccessDenied");
    b.root_iam()
        .put_user_policy()
        .user_name("shared")
        .policy_name("self")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    on_a.get_user().user_name("shared").send().await.unwrap();
}

/// With the default period, a change made by the other server is seen once the period is over.
#[tokio::test]
async fn a_change_is_seen_within_the_change_check_period() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Server::start_in(tmp.path(), &[]);
    let b = Server::start_in(tmp.path(), &[]);
    let (key, secret) = a.new_user_with_key("periodic").await;
    let on_b = b.sts(&key, &secret);
    on_b.get_caller_identity().send().await.unwrap();
    a.root_iam()
        .delete_access_key()
        .user_name("periodic")
        .access_key_id(&key)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = on_b.get_caller_identity().send().await.unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidClientTokenId");
}
