//! Errors as RFC 9457 problem documents: one stable `type` per kind of failure, the field at
//! fault where there is one, and nothing secret.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keygate::ManagerError;
use keygate::core::Error as RuleError;
use keygate::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The kinds of problem, each with its status and stable `type` URI (`urn:keygate:problem:` and
/// the kind's name), so clients branch on the kind and never on the message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The request cannot be read: not JSON, a query string that does not parse.
    Malformed,
    /// A field's value is refused; `field` names it.
    InvalidField,
    /// A field the operation does not know; `field` names it.
    UnknownField,
    /// A body over the limit.
    TooLarge,
    /// A body that is not `application/json`.
    UnsupportedMediaType,
    /// No credentials, or credentials that do not open the API.
    Unauthenticated,
    /// The caller's roles, or its key's permissions, do not allow this.
    Forbidden,
    /// No such thing.
    NotFound,
    /// No such route or method.
    MethodNotAllowed,
    /// It exists already.
    AlreadyExists,
    /// The thing's state does not allow the change (a revoked key resumed, say).
    Conflict,
    /// Something still depends on it (a service account's keys, a signing key's tokens).
    InUse,
    /// A quota of the policy is full.
    QuotaExceeded,
    /// The resource was deleted; no key for it until it is restored.
    ResourceDeleted,
    /// `If-Match` named a version that is no longer current.
    PreconditionFailed,
    /// Too many failed authentications from this address; `Retry-After` says when to retry.
    RateLimited,
    /// The request took too long.
    Timeout,
    /// The store cannot be reached.
    Unavailable,
    /// A fault of the server; the log has the details.
    Internal,
}

impl Kind {
    /// Its name, the last part of its `type`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Malformed => "malformed-request",
            Kind::InvalidField => "invalid-field",
            Kind::UnknownField => "unknown-field",
            Kind::TooLarge => "body-too-large",
            Kind::UnsupportedMediaType => "unsupported-media-type",
            Kind::Unauthenticated => "unauthenticated",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::AlreadyExists => "already-exists",
            Kind::Conflict => "conflict",
            Kind::InUse => "in-use",
            Kind::QuotaExceeded => "quota-exceeded",
            Kind::ResourceDeleted => "resource-deleted",
            Kind::PreconditionFailed => "precondition-failed",
            Kind::RateLimited => "rate-limited",
            Kind::Timeout => "timeout",
            Kind::Unavailable => "unavailable",
            Kind::Internal => "internal",
        }
    }

    /// Its HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Kind::Malformed | Kind::InvalidField | Kind::UnknownField => StatusCode::BAD_REQUEST,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::AlreadyExists
            | Kind::Conflict
            | Kind::InUse
            | Kind::QuotaExceeded
            | Kind::ResourceDeleted => StatusCode::CONFLICT,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Malformed => "The request cannot be read",
            Kind::InvalidField => "A field is invalid",
            Kind::UnknownField => "A field is not known",
            Kind::TooLarge => "The body is too large",
            Kind::UnsupportedMediaType => "The body is not JSON",
            Kind::Unauthenticated => "Authentication failed",
            Kind::Forbidden => "Not allowed",
            Kind::NotFound => "Not found",
            Kind::MethodNotAllowed => "Method not allowed",
            Kind::AlreadyExists => "Already exists",
            Kind::Conflict => "Conflicts with the current state",
            Kind::InUse => "Still in use",
            Kind::QuotaExceeded => "Quota exceeded",
            Kind::ResourceDeleted => "The resource was deleted",
            Kind::PreconditionFailed => "The version is not current",
            Kind::RateLimited => "Too many failed authentications",
            Kind::Timeout => "The request timed out",
            Kind::Unavailable => "The store is unavailable",
            Kind::Internal => "Internal error",
        }
    }
}

/// A failed request, answered as `application/problem+json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    kind: Kind,
    detail: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

/// A problem document (RFC 9457).
#[derive(Serialize, ToSchema)]
pub(crate) struct ProblemDocument {
    /// `urn:keygate:problem:` and the kind: `not-found`, `invalid-field`, …
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: String,
    /// The kind, for people.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What went wrong in this case.
    detail: String,
    /// The field at fault: a body field, or a query or path parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl Problem {
    /// A problem of `kind`, with `detail`.
    pub fn new(kind: Kind, detail: impl Into<String>) -> Problem {
        Problem { kind, detail: detail.into(), field: None, retry_after: None }
    }

    /// An invalid value of `field`.
    pub fn field(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem::new(Kind::InvalidField, detail).at(field)
    }

    /// Names the field at fault.
    pub fn at(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// Asks the client to wait `seconds` before retrying.
    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after = Some(seconds);
        self
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The field at fault.
    pub fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What went wrong.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub(crate) fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(Kind::Forbidden, detail)
    }

    pub(crate) fn not_found(what: &str, id: impl std::fmt::Display) -> Problem {
        Problem::new(Kind::NotFound, format!("there is no {what} {id}"))
    }

    pub(crate) fn internal() -> Problem {
        Problem::new(Kind::Internal, "the server failed; its log says why")
    }

    fn document(&self) -> ProblemDocument {
        ProblemDocument {
            kind: format!("urn:keygate:problem:{}", self.kind.name()),
            title: self.kind.title(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            field: self.field.clone(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.document()).unwrap_or_default();
        let mut response = (self.kind.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.kind == Kind::Unauthenticated {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(keygate_wire::WWW_AUTHENTICATE),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ManagerError> for Problem {
    fn from(error: ManagerError) -> Problem {
        let detail = error.to_string();
        match error {
            ManagerError::Rule(rule) => from_rule(rule, detail),
            ManagerError::Store(store) => from_store(store),
            ManagerError::UnknownPermission { .. } => Problem::field("permissions", detail),
            ManagerError::UnknownResourceKind { .. } => Problem::field("scope", detail),
            ManagerError::SigningKeyInUse { .. } => Problem::new(Kind::InUse, detail),
            ManagerError::NoSigningKey => Problem::new(
                Kind::Conflict,
                "there is no active signing key to mint JWT API keys with; create one first \
                 (keygate signing-key create, or POST /v1/signing-keys)",
            ),
            ManagerError::NoMasterKey => Problem::new(
                Kind::Conflict,
                "this server has no master key, so it cannot create signing keys nor mint JWT \
                 API keys; start it with --master-key",
            ),
            ManagerError::KeyStillInForce { .. } => Problem::new(Kind::Conflict, detail),
            ManagerError::Contended(_) => Problem::new(Kind::Conflict, detail),
            ManagerError::Token(_) => Problem::field("token", detail),
            ManagerError::Sealed { .. } => Problem::internal(),
            _ => Problem::internal(),
        }
    }
}

fn from_rule(rule: RuleError, detail: String) -> Problem {
    match rule {
        RuleError::QuotaExceeded { .. } => Problem::new(Kind::QuotaExceeded, detail),
        RuleError::IllegalTransition { .. } => Problem::new(Kind::Conflict, detail),
        RuleError::UserKeysNotAllowed => Problem::field("owner", detail),
        RuleError::NeverExpiryNotAllowed { .. }
        | RuleError::ExpiryNotInFuture
        | RuleError::LifetimeTooLong { .. }
        | RuleError::LifetimeTooShort { .. } => Problem::field("expiry", detail),
        RuleError::RandomUnavailable | RuleError::InconsistentRecord(_) => Problem::internal(),
        _ => Problem::new(Kind::InvalidField, detail),
    }
}

fn from_store(error: StoreError) -> Problem {
    let detail = error.to_string();
    match error {
        StoreError::NotFound { .. } => Problem::new(Kind::NotFound, detail),
        StoreError::AlreadyExists { kind: "key name", .. } => {
            Problem::new(Kind::AlreadyExists, detail).at("name")
        }
        StoreError::AlreadyExists { .. } => Problem::new(Kind::AlreadyExists, detail),
        StoreError::Conflict { reason, .. } => Problem::new(Kind::Conflict, reason),
        StoreError::QuotaExceeded { .. } | StoreError::ResourceQuotaExceeded { .. } => {
            Problem::new(Kind::QuotaExceeded, detail)
        }
        StoreError::ResourceDeleted { .. } => Problem::new(Kind::ResourceDeleted, detail),
        StoreError::Unavailable { .. } => {
            Problem::new(Kind::Unavailable, "the store is unavailable")
        }
        StoreError::Invalid(reason) => Problem::new(Kind::InvalidField, reason),
        _ => Problem::internal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_type_and_an_error_status() {
        let kinds = [
            Kind::Malformed,
            Kind::InvalidField,
            Kind::UnknownField,
            Kind::TooLarge,
            Kind::UnsupportedMediaType,
            Kind::Unauthenticated,
            Kind::Forbidden,
            Kind::NotFound,
            Kind::MethodNotAllowed,
            Kind::AlreadyExists,
            Kind::Conflict,
            Kind::InUse,
            Kind::QuotaExceeded,
            Kind::ResourceDeleted,
            Kind::PreconditionFailed,
            Kind::RateLimited,
            Kind::Timeout,
            Kind::Unavailable,
            Kind::Internal,
        ];
        let names: std::collections::BTreeSet<_> = kinds.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), kinds.len());
        assert!(kinds.iter().all(|k| k.status().is_client_error() || k.status().is_server_error()));
    }

    #[test]
    fn a_problem_is_served_as_a_problem_document() {
        let response = Problem::field("name", "too long").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let unauthenticated = Problem::new(Kind::Unauthenticated, "x").into_response();
        assert!(unauthenticated.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
