//! The "realistic principal" workload of the benchmarks (policy issue): a user with 10 attached
//! managed policies and 2 groups with 2 policies each (~60 statements), half with wildcards, a
//! third with conditions (String, Bool, Date, IP, ForAnyValue), policy variables. Shared by the
//! benches of this crate and of `keyward-core`; not part of the API.

pub const SERVICES: [&str; 7] = ["logs", "ec2", "dynamodb", "sqs", "sns", "lambda", "kms"];

/// Statement `i` of policy `p`: every second one has a wildcard, every third a condition.
pub fn statement(p: usize, i: usize) -> String {
    let svc = SERVICES
        .get((p + i) % SERVICES.len())
        .copied()
        .unwrap_or("logs");
    let action = if i.is_multiple_of(2) {
        format!("\"{svc}:Get*\", \"{svc}:List*\"")
    } else {
        format!("\"{svc}:Describe{p}x{i}\"")
    };
    let resource = match i % 4 {
        0 => format!("\"arn:aws:{svc}:*:111122223333:res{p}/*\""),
        1 => format!("\"arn:aws:{svc}:us-east-1:111122223333:res{p}/item{i}\""),
        2 => format!("\"arn:aws:{svc}:*:*:home/${{aws:username}}/*\""),
        _ => "\"*\"".to_string(),
    };
    let condition = match (i % 3, (p + i) % 5) {
        (0, 0) => r#", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}"#,
        (0, 1) => r#", "Condition": {"Bool": {"aws:SecureTransport": "true"}}"#,
        (0, 2) => r#", "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}"#,
        (0, 3) => {
            r#", "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}"#
        }
        (0, _) => {
            r#", "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "project"]}}"#
        }
        _ => "",
    };
    format!(
        r#"{{"Sid": "S{p}x{i}", "Effect": "Allow", "Action": [{action}], "Resource": {resource}{condition}}}"#
    )
}

pub fn managed(p: usize, n: usize) -> String {
    let sts: Vec<String> = (0..n).map(|i| statement(p, i)).collect();
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        sts.join(",")
    )
}

/// The identity documents: 10 managed (4 statements each), 4 group policies (5 each) and one deny.
pub fn identity_documents() -> Vec<String> {
    let mut docs: Vec<String> = (0..10).map(|p| managed(p, 4)).collect();
    docs.extend((10..14).map(|p| managed(p, 5)));
    docs.push(r#"{"Version":"2012-10-17","Statement":{"Sid":"NoKmsDelete","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}}"#.into());
    docs
}

/// The permissions boundary of the workload.
pub const BOUNDARY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*","ec2:*","dynamodb:*","sqs:*","sns:*","lambda:*","kms:*"],"Resource":"*"}]}"#;
