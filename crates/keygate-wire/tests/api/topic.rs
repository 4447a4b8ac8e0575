//! Pulsar topic names against a model of their forms, and topic authorization by scope and
//! permission.

use keygate::core::{Permission, Permissions, ResourceRef, Scope};
use keygate::{Actor, AuthContext, Credential, Identity, NewKey};
use keygate_wire::pulsar::topic::{Topic, TopicAction, TopicRefusal, authorize};
use proptest::prelude::*;

use super::support::World;

fn name_part() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_=:.-]{1,12}"
}

fn local_part() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_=:.-]{1,12}(-partition-[0-9]{1,3})?"
}

proptest! {
    #[test]
    fn every_form_of_a_name_reads_the_same(
        persistent in any::<bool>(),
        tenant in name_part(),
        namespace in name_part(),
        local in local_part(),
    ) {
        let domain = if persistent { "persistent" } else { "non-persistent" };
        let full = format!("{domain}://{tenant}/{namespace}/{local}");
        let mut forms = vec![full.clone()];
        if persistent {
            forms.push(format!("{tenant}/{namespace}/{local}"));
        }
        for form in &forms {
            let topic = Topic::parse(form).unwrap();
            prop_assert_eq!(topic.is_persistent(), persistent);
            prop_assert_eq!((topic.tenant(), topic.namespace(), topic.local_name()), (tenant.as_str(), namespace.as_str(), local.as_str()));
            prop_assert_eq!(topic.to_string(), full.clone());
        }
        let bare = Topic::parse(&local).unwrap();
        prop_assert_eq!((bare.tenant(), bare.namespace()), ("public", "default"));
    }

    #[test]
    fn any_text_is_read_or_refused_and_what_is_read_prints_back(text in ".{0,80}") {
        if let Ok(topic) = Topic::parse(&text) {
            let printed = topic.to_string();
            let again = Topic::parse(&printed).unwrap();
            prop_assert_eq!(again, topic);
        }
    }
}

/// A key of `orders` with `scope` and `permissions`, authenticated where it is valid.
async fn identity(world: &mut World, scope: Scope, permissions: Permissions) -> Identity {
    let new = NewKey::new("orders".parse().unwrap(), scope.clone()).with_permissions(permissions);
    let key = world.manager.create_key(&Actor::new("test").unwrap(), new).await.unwrap();
    world.sync().await;
    let resource: ResourceRef = match &scope {
        Scope::Resource(resource) => resource.clone(),
        _ => "pulsar-tenant/anywhere".parse().unwrap(),
    };
    world
        .authenticator
        .authenticate(
            &Credential::ApiKey(key.secret.expose()),
            &AuthContext::new(&resource, keygate_testkit::T0),
        )
        .unwrap()
}

#[tokio::test]
async fn a_tenant_key_covers_its_tenant_in_every_form_and_nothing_else() {
    let mut world = World::new().await;
    let acme = Scope::Resource("pulsar-tenant/acme".parse().unwrap());
    let tenant_key = identity(&mut world, acme.clone(), Permissions::Unrestricted).await;
    let reader = identity(&mut world, acme, Permissions::only([Permission::CONSUME])).await;
    let global = identity(&mut world, Scope::Global, Permissions::Unrestricted).await;
    let cluster = identity(
        &mut world,
        Scope::Resource("kafka-cluster/lkc-1".parse().unwrap()),
        Permissions::Unrestricted,
    )
    .await;

    // (topic, tenant key, global key, kafka key)
    let table = [
        ("persistent://acme/orders/events", true, true, false),
        ("non-persistent://acme/orders/events", true, true, false),
        ("acme/orders/events", true, true, false),
        ("persistent://acme/orders/events-partition-3", true, true, false),
        ("persistent://other/ns/t", false, true, false),
        ("non-persistent://other/ns/t", false, true, false),
        ("t", false, true, false),
        ("persistent://public/default/t", false, true, false),
    ];
    for (name, by_tenant, by_global, by_cluster) in table {
        let topic = Topic::parse(name).unwrap();
        for action in [TopicAction::Produce, TopicAction::Consume, TopicAction::Lookup] {
            assert_eq!(
                authorize(&tenant_key, &topic, action).is_ok(),
                by_tenant,
                "{name} {action:?}"
            );
            assert_eq!(authorize(&global, &topic, action).is_ok(), by_global, "{name} {action:?}");
            assert_eq!(
                authorize(&cluster, &topic, action).is_ok(),
                by_cluster,
                "{name} {action:?}"
            );
        }
        let refused = authorize(&tenant_key, &topic, TopicAction::Produce);
        if !by_tenant {
            assert!(matches!(refused, Err(TopicRefusal::OutOfScope { .. })), "{name}");
        }
    }
    // A consume-only key consumes and looks up, and may not produce.
    let events = Topic::parse("persistent://acme/orders/events").unwrap();
    assert!(authorize(&reader, &events, TopicAction::Consume).is_ok());
    assert!(authorize(&reader, &events, TopicAction::Lookup).is_ok());
    assert_eq!(
        authorize(&reader, &events, TopicAction::Produce),
        Err(TopicRefusal::PermissionDenied { permission: Permission::PRODUCE })
    );
}

#[tokio::test]
async fn a_namespace_key_connects_to_its_tenant_and_covers_its_namespace_only() {
    let mut world = World::new().await;
    let scope = Scope::Resource("pulsar-namespace/acme/orders".parse().unwrap());
    let new = NewKey::new("orders".parse().unwrap(), scope);
    let key = world.manager.create_key(&Actor::new("test").unwrap(), new).await.unwrap();
    world.sync().await;
    let tenant: ResourceRef = "pulsar-tenant/acme".parse().unwrap();
    let credential = Credential::ApiKey(key.secret.expose());
    // On the whole tenant it is refused, unless the server authorizes each part.
    let exact = AuthContext::new(&tenant, keygate_testkit::T0);
    assert!(world.authenticator.authenticate(&credential, &exact).is_err());
    let identity = world.authenticator.authenticate(&credential, &exact.reaching_parts()).unwrap();
    let other_tenant: ResourceRef = "pulsar-tenant/other".parse().unwrap();
    let elsewhere = AuthContext::new(&other_tenant, keygate_testkit::T0).reaching_parts();
    assert!(world.authenticator.authenticate(&credential, &elsewhere).is_err());

    for (name, covered) in [
        ("persistent://acme/orders/events", true),
        ("acme/orders/events-partition-1", true),
        ("non-persistent://acme/orders/x", true),
        ("persistent://acme/billing/events", false),
        ("persistent://other/orders/events", false),
        ("events", false),
    ] {
        let topic = Topic::parse(name).unwrap();
        assert_eq!(authorize(&identity, &topic, TopicAction::Produce).is_ok(), covered, "{name}");
    }
}
