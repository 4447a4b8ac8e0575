//! The source of randomness for key ids and secrets.

use std::fmt;

use crate::Error;

/// A cryptographically secure source of random bytes.
///
/// keygate-core has no randomness of its own: whoever generates key ids and secrets passes a
/// `SecureRandom`. keygate-token provides the default, backed by the operating system through
/// ring; tests use a seeded one so that generated ids are reproducible.
pub trait SecureRandom: Send + Sync + fmt::Debug {
    /// Fills `dest` with random bytes, or fails without partially trusted output.
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error>;
}

impl<R: SecureRandom + ?Sized> SecureRandom for &R {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        (**self).fill(dest)
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for std::sync::Arc<R> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        (**self).fill(dest)
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for Box<R> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), Error> {
        (**self).fill(dest)
    }
}
