//! Lifecycle laws: no sequence of transitions revives a revoked key, and a refused transition
//! changes nothing.

use keygate_core::{Description, KeyState, KeyStatus, Timestamp, Transition};
use keygate_testkit::strategy;
use proptest::prelude::*;

fn transition() -> impl Strategy<Value = Transition> {
    prop_oneof![
        strategy::timestamp_near_t0().prop_map(|at| Transition::Suspend { at }),
        Just(Transition::Resume),
        (strategy::timestamp_near_t0(), "[a-z ]{0,12}").prop_map(|(at, reason)| {
            Transition::Revoke { at, reason: reason.parse::<Description>().unwrap() }
        }),
    ]
}

proptest! {
    #[test]
    fn revoked_is_final(transitions in proptest::collection::vec(transition(), 0..40)) {
        let mut state = KeyState::Active;
        let mut revoked_as: Option<KeyState> = None;
        for transition in &transitions {
            // A refused transition leaves `state` as it was.
            if let Ok(next) = state.apply(transition) {
                prop_assert!(revoked_as.is_none(), "a revoked key moved to {:?}", next);
                state = next;
            }
            if state.is_revoked() && revoked_as.is_none() {
                revoked_as = Some(state.clone());
            }
            if let Some(revoked) = &revoked_as {
                prop_assert_eq!(&state, revoked);
                prop_assert_eq!(state.status(), KeyStatus::Revoked);
            }
        }
    }

    #[test]
    fn states_round_trip_through_json(transitions in proptest::collection::vec(transition(), 0..10)) {
        let mut state = KeyState::Active;
        for transition in &transitions {
            if let Ok(next) = state.apply(transition) {
                state = next;
            }
            let json = serde_json::to_string(&state).unwrap();
            prop_assert_eq!(serde_json::from_str::<KeyState>(&json).unwrap(), state.clone());
        }
    }
}

#[test]
fn revoking_twice_is_reported_not_repeated() {
    let at = Timestamp::from_unix(5).unwrap();
    let revoke = Transition::Revoke { at, reason: Description::empty() };
    let revoked = KeyState::Active.apply(&revoke).unwrap();
    assert!(revoked.apply(&revoke).is_err());
}
