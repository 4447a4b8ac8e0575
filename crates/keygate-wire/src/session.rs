//! The step every mechanism ends with: an identity the authenticator accepted becomes the
//! connection's session, under the rules that do not depend on the mechanism.

use keygate::Identity;

use crate::WireError;

/// Applies the rules every mechanism shares to `identity`, the authenticator's answer for the
/// credential a client presented:
///
/// - an authorization identity the client asked for must be one the credential speaks for: its
///   principal, or (`alias`) the name it authenticated with, such as SASL/PLAIN's username;
/// - a re-authentication (Kafka's KIP-368, Pulsar's auth refresh) keeps the principal the
///   connection had (`previous`).
///
/// The session's lifetime is the identity's session deadline: the credential's expiry, or
/// sooner where the authenticator caps sessions (`AuthConfig::max_session`, the one place the
/// cap is set).
pub(crate) fn finish(
    identity: Identity,
    authzid: Option<&str>,
    alias: Option<&str>,
    previous: Option<&Identity>,
) -> Result<Identity, WireError> {
    if let Some(authzid) = authzid.filter(|authzid| !authzid.is_empty())
        && authzid != identity.principal().as_str()
        && Some(authzid) != alias
    {
        return Err(WireError::AuthzidMismatch);
    }
    if let Some(previous) = previous
        && previous.principal() != identity.principal()
    {
        return Err(WireError::PrincipalChanged);
    }
    Ok(identity)
}
