//! Errors of the policy language, worded exactly as IAM words `MalformedPolicyDocument`.

/// Why IAM would refuse a policy document. `Display` is IAM's message, verbatim, so the server can
/// put it in the `<Message>` of a `MalformedPolicyDocument` (or `LimitExceeded`, see
/// [`PolicyError::error_code`]) response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON, wrong shapes, unknown fields or operators, missing `Effect`, `Action` with
    /// `NotAction`, `Resource` with `NotResource`, an unknown `Version`.
    #[error("Syntax errors in policy.")]
    Syntax,
    /// A value IAM's older parser rejects: an `Effect` in the wrong case, an unparsable date or
    /// number in a condition, a truncated ARN.
    #[error("The policy failed legacy parsing")]
    LegacyParsing,
    /// Only when [`ParseOptions::require_current_version`](crate::ParseOptions) is set (managed policies).
    #[error("Policy document must be version 2012-10-17 or greater.")]
    VersionTooOld,
    #[error("Statement IDs (SID) in a single policy must be unique.")]
    DuplicateSid,
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    /// A `Principal` entry that is not `*`, an account id, an ARN (or, for `Service`, a service name).
    #[error("Invalid principal in policy: \"{kind}\":\"{value}\"")]
    InvalidPrincipal { kind: String, value: String },
    #[error("Missing required field Principal")]
    MissingPrincipal,
    #[error("Has prohibited field Resource")]
    ResourceNotAllowed,
    #[error("AssumeRole policy may only specify STS AssumeRole actions.")]
    TrustActionNotSts,
    #[error("Policy statement must contain actions.")]
    MissingActions,
    #[error("Policy statement must contain resources.")]
    MissingResources,
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    ActionWithoutVendor,
    #[error("Actions/Condition can contain only one colon.")]
    ActionTooManyColons,
    #[error("Vendor {0} is not valid")]
    InvalidVendor(String),
    #[error("Resource {0} must be in ARN format or \"*\".")]
    ResourceNotArn(String),
    #[error("Partition \"{partition}\" is not valid for resource \"{resource}\".")]
    InvalidPartition { partition: String, resource: String },
    #[error("Resource vendor must be fully qualified and cannot contain regexes.")]
    ResourceVendorNotQualified,
    #[error("IAM resource {0} cannot contain region information.")]
    IamResourceWithRegion(String),
    #[error("Resource {0} can not contain region information.")]
    S3ResourceWithRegion(String),
    #[error(
        "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."
    )]
    IamResourcePath,
    /// The document is longer (white space not counted) than the quota of its kind.
    #[error("Cannot exceed quota for PolicySize: {0}")]
    TooLarge(usize),
}

impl PolicyError {
    /// The AWS error code the server answers with.
    pub fn error_code(&self) -> &'static str {
        match self {
            PolicyError::TooLarge(_) => "LimitExceeded",
            _ => "MalformedPolicyDocument",
        }
    }
}
