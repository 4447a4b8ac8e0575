//! Durations round-trip through their text; timestamp arithmetic never panics and never wraps.

use keygate_core::{Expiry, Lifetime, Span, Timestamp};
use keygate_testkit::strategy;
use proptest::prelude::*;

proptest! {
    #[test]
    fn span_text_round_trips(span in strategy::span()) {
        let text = span.to_string();
        prop_assert_eq!(text.parse::<Span>().unwrap(), span);
        let json = serde_json::to_string(&span).unwrap();
        prop_assert_eq!(serde_json::from_str::<Span>(&json).unwrap(), span);
    }

    #[test]
    fn any_seconds_round_trip(seconds in any::<u64>()) {
        let span = Span::seconds(seconds);
        prop_assert_eq!(span.to_string().parse::<Span>().unwrap(), span);
    }

    #[test]
    fn lifetime_text_round_trips(span in strategy::span(), never in any::<bool>()) {
        let lifetime = if never { Lifetime::Never } else { Lifetime::Span(span) };
        prop_assert_eq!(lifetime.to_string().parse::<Lifetime>().unwrap(), lifetime);
    }

    #[test]
    fn span_parsing_never_panics(text in "\\PC{0,20}") {
        let _ = text.parse::<Span>();
        let _ = text.parse::<Lifetime>();
        let _ = text.parse::<Timestamp>();
    }

    #[test]
    fn construction_checks_the_range(seconds in any::<i64>()) {
        let in_range = (0..=Timestamp::MAX.unix()).contains(&seconds);
        prop_assert_eq!(Timestamp::from_unix(seconds).is_ok(), in_range);
    }

    #[test]
    fn arithmetic_never_panics_or_leaves_the_range(at in strategy::timestamp(), seconds in any::<u64>()) {
        let span = Span::seconds(seconds);
        match at.checked_add(span) {
            Ok(later) => {
                prop_assert!(later >= at);
                prop_assert_eq!(later.saturating_since(at), span);
                prop_assert_eq!(later.saturating_sub(span), at);
            }
            Err(_) => prop_assert_eq!(at.saturating_add(span), Timestamp::MAX),
        }
        let earlier = at.saturating_sub(span);
        prop_assert!(earlier <= at && earlier >= Timestamp::EPOCH);
        prop_assert_eq!(earlier.saturating_since(at), Span::ZERO);
    }

    #[test]
    fn timestamps_round_trip_through_text_and_json(at in strategy::timestamp()) {
        prop_assert_eq!(at.to_string().parse::<Timestamp>().unwrap(), at);
        prop_assert_eq!(serde_json::from_str::<Timestamp>(&serde_json::to_string(&at).unwrap()).unwrap(), at);
        let instant: time::OffsetDateTime = at.into();
        prop_assert_eq!(Timestamp::try_from(instant).unwrap(), at);
    }

    #[test]
    fn expiry_is_half_open(at in strategy::timestamp(), now in strategy::timestamp()) {
        prop_assert_eq!(Expiry::At(at).has_passed(now), now >= at);
        prop_assert!(!Expiry::Never.has_passed(now));
    }
}
