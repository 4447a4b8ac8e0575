//! Scope and permission laws: `Global` admits everything, `Resource(r)` admits only `r`, and a
//! restriction never widens.

use keygate_core::{Permissions, ResourceKind, Scope};
use keygate_testkit::strategy;
use proptest::prelude::*;

proptest! {
    #[test]
    fn global_admits_every_resource(resource in strategy::resource_ref()) {
        prop_assert!(Scope::Global.admits(&resource));
    }

    #[test]
    fn a_resource_scope_admits_only_its_resource(own in strategy::resource_ref(), presented in strategy::resource_ref()) {
        prop_assert_eq!(Scope::Resource(own.clone()).admits(&presented), own == presented);
        prop_assert!(Scope::Resource(own.clone()).admits(&own));
    }

    #[test]
    fn cloud_admits_exactly_the_cloud_kind(resource in strategy::resource_ref()) {
        prop_assert_eq!(Scope::Cloud.admits(&resource), resource.kind() == ResourceKind::CLOUD.as_str());
    }

    #[test]
    fn is_within_agrees_with_admits(a in strategy::scope(), b in strategy::scope(), resource in strategy::resource_ref()) {
        // If a is within b, everything a admits, b admits.
        if a.is_within(&b) && a.admits(&resource) {
            prop_assert!(b.admits(&resource));
        }
    }

    #[test]
    fn restriction_never_widens(a in strategy::permissions(), b in strategy::permissions(), op in strategy::permission()) {
        let both = a.restrict(&b);
        prop_assert_eq!(both.permits(&op), a.permits(&op) && b.permits(&op));
        prop_assert!(both.is_within(&a) && both.is_within(&b));
        prop_assert_eq!(both, b.restrict(&a));
    }

    #[test]
    fn is_within_agrees_with_permits(a in strategy::permissions(), b in strategy::permissions(), op in strategy::permission()) {
        if a.is_within(&b) && a.permits(&op) {
            prop_assert!(b.permits(&op));
        }
    }

    #[test]
    fn unrestricted_permits_everything(op in strategy::permission()) {
        prop_assert!(Permissions::Unrestricted.permits(&op));
    }

    #[test]
    fn permissions_round_trip(p in strategy::permissions()) {
        prop_assert_eq!(p.to_string().parse::<Permissions>().unwrap(), p.clone());
        prop_assert_eq!(serde_json::from_value::<Permissions>(serde_json::to_value(&p).unwrap()).unwrap(), p);
    }
}
