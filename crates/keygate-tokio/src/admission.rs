//! Who gets a connection slot: every connection counts against the server's cap, and a
//! connection that has not authenticated yet (a stranger) also against the strangers' budget and
//! its source address's share of it.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Limits;

/// Why a newly accepted connection was not admitted: close its socket at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmitError {
    /// [`Limits::max_connections`] are open.
    #[error("{max} connections open")]
    Full {
        /// The cap.
        max: usize,
    },
    /// [`Limits::max_strangers`] connections are waiting to authenticate.
    #[error("{max} connections waiting to authenticate")]
    Strangers {
        /// The cap.
        max: usize,
    },
    /// [`Limits::max_strangers_per_address`] connections from this address (for IPv6, its
    /// /64) are waiting to authenticate.
    #[error("{max} connections from {address} waiting to authenticate")]
    Address {
        /// The address, as counted.
        address: Source,
        /// The cap.
        max: usize,
    },
}

/// A source address as the per-address cap counts it: an IPv4 address, or the /64 an IPv6
/// address is in (one host's usual share; counting single IPv6 addresses would let one host
/// take as many places as it has addresses, which is 2^64).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    /// The source that `address` counts as.
    pub fn of(address: IpAddr) -> Source {
        match address {
            IpAddr::V4(v4) => Source(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !u128::from(u64::MAX);
                    Source(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// The counters behind admission.
#[derive(Debug)]
pub(crate) struct Admission {
    total: Arc<Semaphore>,
    max_total: usize,
    strangers: Arc<Semaphore>,
    max_strangers: usize,
    per_source: Mutex<HashMap<Source, usize>>,
    max_per_source: usize,
}

/// A connection's place: in the server's count while it lives, and among the strangers until
/// it authenticates.
#[derive(Debug)]
pub(crate) struct Place {
    _total: OwnedSemaphorePermit,
    stranger: Option<(OwnedSemaphorePermit, Source)>,
}

impl Admission {
    pub(crate) fn new(limits: &Limits) -> Admission {
        Admission {
            total: Arc::new(Semaphore::new(limits.max_connections)),
            max_total: limits.max_connections,
            strangers: Arc::new(Semaphore::new(limits.max_strangers)),
            max_strangers: limits.max_strangers,
            per_source: Mutex::new(HashMap::new()),
            max_per_source: limits.max_strangers_per_address,
        }
    }

    /// A place for a stranger from `peer`, or why there is none. Nothing is held on refusal.
    pub(crate) fn admit(&self, peer: IpAddr) -> Result<Place, AdmitError> {
        let source = Source::of(peer);
        let total = Arc::clone(&self.total)
            .try_acquire_owned()
            .map_err(|_| AdmitError::Full { max: self.max_total })?;
        let stranger = Arc::clone(&self.strangers)
            .try_acquire_owned()
            .map_err(|_| AdmitError::Strangers { max: self.max_strangers })?;
        let mut per_source = lock(&self.per_source);
        let count = per_source.entry(source).or_default();
        if *count >= self.max_per_source {
            if *count == 0 {
                per_source.remove(&source);
            }
            return Err(AdmitError::Address { address: source, max: self.max_per_source });
        }
        *count += 1;
        Ok(Place { _total: total, stranger: Some((stranger, source)) })
    }

    /// `place` is a stranger no more: its stranger's share is given back.
    pub(crate) fn authenticated(&self, place: &mut Place) {
        if let Some((_permit, source)) = place.stranger.take() {
            self.leave(source);
        }
    }

    /// `place` is closing.
    pub(crate) fn release(&self, place: &mut Place) {
        self.authenticated(place);
    }

    /// How many connections are open.
    pub(crate) fn open(&self) -> usize {
        self.max_total - self.total.available_permits()
    }

    /// How many connections are waiting to authenticate.
    pub(crate) fn strangers(&self) -> usize {
        self.max_strangers - self.strangers.available_permits()
    }

    fn leave(&self, source: Source) {
        let mut per_source = lock(&self.per_source);
        if let Some(count) = per_source.get_mut(&source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_source.remove(&source);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, strangers: usize, per_address: usize) -> Limits {
        Limits::default()
            .with_max_connections(total)
            .with_max_strangers(strangers)
            .with_max_strangers_per_address(per_address)
    }

    #[test]
    fn one_address_gets_its_share_of_strangers_and_no_more() {
        let admission = Admission::new(&limits(100, 10, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert!(matches!(admission.admit(a), Err(AdmitError::Address { max: 2, .. })));
        let _other = admission.admit(b).unwrap();
        // Once authenticated, a connection no longer counts against its address.
        admission.authenticated(&mut first);
        let _third = admission.admit(a).unwrap();
        assert_eq!((admission.open(), admission.strangers()), (4, 3));
    }

    #[test]
    fn strangers_have_a_budget_of_their_own_below_the_cap() {
        let admission = Admission::new(&limits(4, 2, 10));
        let peer = |n: u8| IpAddr::from([192, 0, 2, n]);
        let mut places: Vec<Place> = (1..=2).map(|n| admission.admit(peer(n)).unwrap()).collect();
        assert!(matches!(admission.admit(peer(3)), Err(AdmitError::Strangers { max: 2 })));
        // A refusal holds nothing: the total is still two.
        assert_eq!(admission.open(), 2);
        for place in &mut places {
            admission.authenticated(place);
        }
        places.extend((3..=4).map(|n| admission.admit(peer(n)).unwrap()));
        assert!(matches!(admission.admit(peer(5)), Err(AdmitError::Full { max: 4 })));
        for place in &mut places {
            admission.release(place);
        }
        drop(places);
        assert_eq!((admission.open(), admission.strangers()), (0, 0));
        assert!(admission.per_source.lock().unwrap().is_empty());
    }

    #[test]
    fn an_ipv6_host_counts_as_its_64() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other_in_it: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let next: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Source::of(one), Source::of(other_in_it));
        assert_ne!(Source::of(one), Source::of(next));
        assert_eq!(Source::of(one).to_string(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(Source::of(mapped), Source::of("192.0.2.1".parse().unwrap()));
    }
}
