//! The operating system's randomness, through ring.

use keygate_core::SecureRandom;

/// The default [`SecureRandom`]: the operating system's generator, through ring
/// (`getrandom` on Linux).
#[derive(Debug)]
pub struct SystemRandom(ring::rand::SystemRandom);

impl Default for SystemRandom {
    fn default() -> SystemRandom {
        SystemRandom::new()
    }
}

impl SystemRandom {
    /// The system generator.
    pub fn new() -> SystemRandom {
        SystemRandom(ring::rand::SystemRandom::new())
    }
}

impl SecureRandom for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), keygate_core::Error> {
        ring::rand::SecureRandom::fill(&self.0, dest)
            .map_err(|_| keygate_core::Error::RandomUnavailable)
    }
}
