//! Every `AuthError` path with AWS's exact wording (sources in `error.rs`).

use time::macros::datetime;

use crate::*;

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd";

fn req<'a>(headers: &'a [(&'a str, &'a str)], query: &'a str) -> RequestParts<'a> {
    RequestParts {
        method: "POST",
        path: "/",
        query,
        headers,
        body: b"Action=GetCallerIdentity&Version=2011-06-15",
    }
}

fn err(headers: &[(&str, &str)], query: &str) -> AuthError {
    parse(&req(headers, query)).expect_err("must fail")
}

fn parsed(headers: &[(&str, &str)], query: &str) -> ParsedAuth {
    parse(&req(headers, query)).unwrap().expect("signed")
}

#[test]
fn no_auth_at_all_is_none_and_missing_token_wording() {
    assert!(parse(&req(&[("host", "h")], "Action=X")).unwrap().is_none());
    let e = AuthError::MissingAuthenticationToken;
    assert_eq!(
        (e.code(), e.http_status(), e.message().as_str()),
        (
            "MissingAuthenticationToken",
            403,
            "Request is missing Authentication Token"
        )
    );
}

#[test]
fn authorization_missing_everything() {
    // Real AWS answer quoted by rclone and API Gateway users.
    let e = err(&[("Authorization", "Bearer")], "");
    assert_eq!(e.code(), "IncompleteSignature");
    assert_eq!(e.http_status(), 400);
    assert_eq!(
        e.message(),
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer"
    );
}

#[test]
fn authorization_missing_signature_only() {
    let e = err(
        &[
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/sts/aws4_request, SignedHeaders=host",
            ),
            ("x-amz-date", "20150830T123600Z"),
        ],
        "",
    );
    assert_eq!(
        e.message(),
        "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256"
    );
}

#[test]
fn authorization_missing_date() {
    let e = err(&[("authorization", AUTH), ("host", "h")], "");
    assert_eq!(
        e.message(),
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"
    );
    assert_eq!(e.code(), "IncompleteSignature");
}

#[test]
fn authorization_pair_without_equals() {
    let header = "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/sts/aws4_request, SignedHeaders, Signature=ab";
    let e = err(
        &[
            ("authorization", header),
            ("x-amz-date", "20150830T123600Z"),
        ],
        "",
    );
    assert_eq!(e.code(), "IncompleteSignature");
    assert_eq!(
        e.message(),
        format!(
            "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'"
        )
    );
}

#[test]
fn unsupported_algorithm() {
    let e = err(
        &[
            (
                "authorization",
                &AUTH.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
            ),
            ("x-amz-date", "20150830T123600Z"),
        ],
        "",
    );
    assert_eq!((e.code(), e.http_status()), ("IncompleteSignature", 400));
    assert_eq!(
        e.message(),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'."
    );
}

#[test]
fn credential_with_wrong_element_count() {
    let e = err(
        &[
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, SignedHeaders=host, Signature=ab",
            ),
            ("x-amz-date", "20150830T123600Z"),
        ],
        "",
    );
    assert_eq!(e.code(), "IncompleteSignature");
    assert_eq!(
        e.message(),
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE'"
    );
}

#[test]
fn invalid_date() {
    let e = err(&[("authorization", AUTH), ("x-amz-date", "zzzz")], "");
    assert_eq!(e.code(), "IncompleteSignature");
    assert_eq!(
        e.message(),
        "Date must be in ISO-8601 'basic format'. Got 'zzzz'. See http://en.wikipedia.org/wiki/ISO_8601"
    );
}

#[test]
fn date_header_fallback_in_imf_fixdate() {
    let p = parsed(
        &[
            ("authorization", AUTH),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
            ("host", "h"),
        ],
        "",
    );
    assert_eq!(p.amz_date, datetime!(2015-08-30 12:36:00 UTC));
    assert_eq!(p.amz_date_raw, "Sun, 30 Aug 2015 12:36:00 GMT");
}

#[test]
fn bad_terminator_and_date_reported_together() {
    let e = err(
        &[
            (
                "authorization",
                &AUTH.replace(
                    "20150830/us-east-1/sts/aws4_request",
                    "20150831/us-east-1/sts/aws5_request",
                ),
            ),
            ("x-amz-date", "20150830T123600Z"),
        ],
        "",
    );
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    assert_eq!(
        e.message(),
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'. "
    );
}

#[test]
fn scope_region_and_service() {
    let p = parsed(
        &[("authorization", AUTH), ("x-amz-date", "20150830T123600Z")],
        "",
    );
    assert!(check_scope(&p, |r| r == "us-east-1", "sts").is_ok());
    let e = check_scope(&p, |r| r == "eu-west-1", "iam").unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    // STS's wording, trailing spaces included (STS wire oracle).
    assert_eq!(
        e.message(),
        "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'iam'. "
    );
}

#[test]
fn host_must_be_signed() {
    let e = err(
        &[
            (
                "authorization",
                &AUTH.replace("host;x-amz-date", "x-amz-date"),
            ),
            ("x-amz-date", "20150830T123600Z"),
        ],
        "",
    );
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    assert_eq!(
        e.message(),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn header_and_query_auth_together() {
    let e = err(
        &[("authorization", AUTH), ("x-amz-date", "20150830T123600Z")],
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
    );
    assert_eq!(e, AuthError::SignatureDoesNotMatch);
}

#[test]
fn query_missing_everything() {
    let e = err(&[("host", "h")], "X-Amz-Algorithm=AWS4-HMAC-SHA256");
    assert_eq!((e.code(), e.http_status()), ("IncompleteSignature", 400));
    assert_eq!(
        e.message(),
        "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
    );
}

#[test]
fn query_other_algorithm_or_signature_alone_is_missing_token() {
    assert_eq!(
        err(&[], "X-Amz-Algorithm=AWS4-HMAC-SHA512"),
        AuthError::MissingAuthenticationToken
    );
    assert_eq!(
        err(&[], "X-Amz-Signature=ab"),
        AuthError::MissingAuthenticationToken
    );
}

const PRESIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab";

#[test]
fn query_expires_default_and_invalid() {
    let p = parsed(&[("host", "h")], PRESIGNED);
    assert_eq!(
        p.location,
        AuthLocation::Query {
            expires_secs: DEFAULT_PRESIGN_EXPIRES_SECS
        }
    );
    for expires in ["soon", "", "1.5", "1e3", "0x10", "--1", "+-1", "12 3"] {
        let e = err(
            &[("host", "h")],
            &format!("{PRESIGNED}&X-Amz-Expires={expires}"),
        );
        assert_eq!(
            e,
            AuthError::InvalidExpires(expires.to_owned()),
            "{expires}"
        );
        assert_eq!(
            (e.code(), e.http_status(), e.message().as_str()),
            (
                "AuthorizationQueryParametersError",
                400,
                "X-Amz-Expires should be a number"
            )
        );
    }
}

#[test]
fn query_expires_negative() {
    for expires in ["-1", "-604800", "-99999999999999999999999"] {
        let e = err(
            &[("host", "h")],
            &format!("{PRESIGNED}&X-Amz-Expires={expires}"),
        );
        assert_eq!(e, AuthError::NegativeExpires, "{expires}");
        assert_eq!(
            (e.code(), e.http_status(), e.message().as_str()),
            (
                "AuthorizationQueryParametersError",
                400,
                "X-Amz-Expires must be non-negative"
            )
        );
    }
    // Minus zero is zero: accepted here, expired by check_time.
    let p = parsed(&[("host", "h")], &format!("{PRESIGNED}&X-Amz-Expires=-0"));
    assert_eq!(p.location, AuthLocation::Query { expires_secs: 0 });
    let p = parsed(
        &[("host", "h")],
        &format!("{PRESIGNED}&X-Amz-Expires=%2B60"),
    );
    assert_eq!(p.location, AuthLocation::Query { expires_secs: 60 });
}

#[test]
fn skew_past_boundary() {
    let p = parsed(
        &[("authorization", AUTH), ("x-amz-date", "20150830T123600Z")],
        "",
    );
    assert!(check_time(&p, datetime!(2015-08-30 12:41:00 UTC)).is_ok());
    let e = check_time(&p, datetime!(2015-08-30 12:41:01 UTC)).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    assert_eq!(
        e.message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)"
    );
}

#[test]
fn skew_future_boundary() {
    let p = parsed(
        &[("authorization", AUTH), ("x-amz-date", "20150830T123600Z")],
        "",
    );
    assert!(check_time(&p, datetime!(2015-08-30 12:31:00 UTC)).is_ok());
    let e = check_time(&p, datetime!(2015-08-30 12:30:59 UTC)).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    assert_eq!(
        e.message(),
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T123059Z + 5 min.)"
    );
}

#[test]
fn presigned_expiry() {
    let p = parsed(&[("host", "h")], &format!("{PRESIGNED}&X-Amz-Expires=3600"));
    assert!(check_time(&p, datetime!(2015-08-30 13:36:00 UTC)).is_ok());
    let e = check_time(&p, datetime!(2015-08-30 13:36:01 UTC)).unwrap_err();
    assert_eq!(
        e.message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T133601Z - 60 min.)"
    );
    let p = parsed(&[("host", "h")], &format!("{PRESIGNED}&X-Amz-Expires=90"));
    let e = check_time(&p, datetime!(2015-08-30 12:37:31 UTC)).unwrap_err();
    assert_eq!(
        e.message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123731Z - 90 sec.)"
    );
    // The future bound stays 5 minutes.
    assert!(check_time(&p, datetime!(2015-08-30 12:30:59 UTC)).is_err());
}

const TOO_LONG: &str = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds";

#[test]
fn presigned_expires_over_a_week_refused() {
    for expires in [
        "604801",
        "315360000",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999",
    ] {
        let e = err(
            &[("host", "h")],
            &format!("{PRESIGNED}&X-Amz-Expires={expires}"),
        );
        assert_eq!(e, AuthError::ExpiresTooLong, "{expires}");
        assert_eq!(
            (e.code(), e.http_status(), e.message().as_str()),
            ("AuthorizationQueryParametersError", 400, TOO_LONG)
        );
    }
    let p = parsed(
        &[("host", "h")],
        &format!("{PRESIGNED}&X-Amz-Expires=604800"),
    );
    assert_eq!(
        p.location,
        AuthLocation::Query {
            expires_secs: MAX_PRESIGN_EXPIRES_SECS
        }
    );
}

/// A presigned URL signed with a ten-year lifetime, used 400 days later: refused, as is one within
/// the limit once its seven days are over.
#[test]
fn presigned_url_cannot_outlive_seven_days() {
    let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let signed_at = datetime!(2015-08-30 12:36:00 UTC);
    let headers = [("host", "iam.amazonaws.com")];
    let base = RequestParts {
        method: "GET",
        path: "/",
        query: "Action=ListUsers&Version=2010-05-08",
        headers: &headers,
        body: b"",
    };
    let params = SigningParams {
        access_key_id: "AKIDEXAMPLE",
        secret: &secret,
        security_token: None,
        region: "us-east-1",
        service: "iam",
        time: signed_at,
    };
    let later = signed_at + time::Duration::days(400);
    for expires in [315_360_000, u64::MAX] {
        let query = presign_query(&base, &params, expires);
        let req = RequestParts {
            query: &query,
            ..base
        };
        assert_eq!(parse(&req).unwrap_err(), AuthError::ExpiresTooLong);
    }
    let query = presign_query(&base, &params, 604_800);
    let req = RequestParts {
        query: &query,
        ..base
    };
    let p = parse(&req).unwrap().expect("signed");
    verify(&req, &p, &secret, &SigningKeyCache::new(4)).unwrap();
    assert!(check_time(&p, signed_at + time::Duration::days(7)).is_ok());
    let e = check_time(&p, later).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    assert!(
        e.message()
            .starts_with("Signature expired: 20150830T123600Z")
    );
}

/// `check_time` bounds the window itself: a lifetime set on a parsed request after the fact
/// cannot stretch it, and no value overflows the date arithmetic.
#[test]
fn check_time_refuses_lifetimes_over_a_week() {
    let mut p = parsed(&[("host", "h")], &format!("{PRESIGNED}&X-Amz-Expires=3600"));
    let later = datetime!(2016-10-03 12:36:00 UTC);
    for expires_secs in [604_801, 315_360_000, i64::MAX as u64, u64::MAX] {
        p.location = AuthLocation::Query { expires_secs };
        assert_eq!(
            check_time(&p, later),
            Err(AuthError::ExpiresTooLong),
            "{expires_secs}"
        );
        assert_eq!(
            check_time(&p, datetime!(2015-08-30 12:36:00 UTC)),
            Err(AuthError::ExpiresTooLong)
        );
    }
}

#[test]
fn presigned_expires_zero_has_always_expired() {
    let p = parsed(&[("host", "h")], &format!("{PRESIGNED}&X-Amz-Expires=0"));
    assert_eq!(p.location, AuthLocation::Query { expires_secs: 0 });
    for now in [
        datetime!(2015-08-30 12:36:00 UTC),
        datetime!(2015-08-30 12:36:00.5 UTC),
        datetime!(2015-08-30 12:33:00 UTC),
        datetime!(2015-08-30 12:36:01 UTC),
    ] {
        let e = check_time(&p, now).unwrap_err();
        assert!(
            matches!(e, AuthError::SignatureExpired { .. }),
            "{now}: {e:?}"
        );
        assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    }
    let p = parsed(&[("host", "h")], &format!("{PRESIGNED}&X-Amz-Expires=1"));
    assert!(check_time(&p, datetime!(2015-08-30 12:36:01 UTC)).is_ok());
}

#[test]
fn signature_mismatch_wording() {
    let e = AuthError::SignatureDoesNotMatch;
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    assert_eq!(
        e.message(),
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    );
}

#[test]
fn verify_rejects_wrong_signature_and_unsigned_body_hash() {
    let secret = SecretKey::new("secret");
    let now = datetime!(2015-08-30 12:36:00 UTC);
    let base = [
        ("host", "sts.amazonaws.com"),
        (
            "x-amz-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    let r = req(&base, "");
    let params = SigningParams {
        access_key_id: "AKID",
        secret: &secret,
        security_token: None,
        region: "us-east-1",
        service: "sts",
        time: now,
    };
    let added = sign_headers(&r, &params);
    let mut h: Vec<(&str, &str)> = base.to_vec();
    h.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let r = RequestParts { headers: &h, ..r };
    let p = parse(&r).unwrap().unwrap();
    // The signer drops a caller's x-amz-content-sha256, so it is not signed: body hash is used.
    assert!(
        !p.signed_headers
            .contains(&"x-amz-content-sha256".to_owned())
    );
    let cache = SigningKeyCache::new(4);
    verify(&r, &p, &secret, &cache).unwrap();
    assert_eq!(
        verify(&r, &p, &SecretKey::new("other"), &cache),
        Err(AuthError::SignatureDoesNotMatch)
    );
    // Signed content hash that lies about the body.
    let lying = AUTH.replace("host;x-amz-date", "host;x-amz-content-sha256;x-amz-date");
    let h2 = [
        ("authorization", lying.as_str()),
        ("x-amz-date", "20150830T123600Z"),
        ("host", "h"),
        ("x-amz-content-sha256", "00"),
    ];
    let r2 = req(&h2, "");
    let p2 = parse(&r2).unwrap().unwrap();
    assert_eq!(
        verify(&r2, &p2, &secret, &cache),
        Err(AuthError::SignatureDoesNotMatch)
    );
}
