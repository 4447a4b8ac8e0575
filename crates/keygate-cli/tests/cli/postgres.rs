//! The same flow against PostgreSQL, the store a fleet of brokers shares.

use sqlx::Connection;

use super::support::Sandbox;

#[test]
fn the_operator_flow_on_postgres() {
    let Some(server) = keygate_testkit::external(
        "KEYGATE_POSTGRES_URL",
        "cli::postgres::the_operator_flow_on_postgres",
    ) else {
        return;
    };
    let schema = format!("keygate_cli_{}", std::process::id());
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    });
    let separator = if server.contains('?') { '&' } else { '?' };
    let sandbox =
        Sandbox::with_store(format!("{server}{separator}options=-c%20search_path%3D{schema}"));

    sandbox.run(&["service-account", "create", "orders"]).ok();
    sandbox.run(&["signing-key", "create"]).ok();
    let created = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--resource",
            "pulsar-tenant/acme",
            "--output",
            "json",
        ])
        .ok();
    let (id, secret) = (created.field("key_id"), created.field("secret"));
    let jwt = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            "orders",
            "--global",
            "--format",
            "jwt",
            "--output",
            "json",
        ])
        .ok()
        .field("secret");
    sandbox.run(&["api-key", "verify", "--resource", "pulsar-tenant/acme", &id, &secret]).ok();
    sandbox.run(&["api-key", "verify", "--resource", "pulsar-tenant/acme", "--token", &jwt]).ok();
    sandbox.run(&["api-key", "revoke", &id]).ok();
    sandbox
        .run(&["api-key", "verify", "--resource", "pulsar-tenant/acme", &id, &secret])
        .fails(1, "revoked");
    let audit =
        sandbox.run(&["audit", "list", "--principal", "orders", "--output", "json"]).ok().json();
    assert_eq!(audit.as_array().unwrap().len(), 4);
    let deleted = sandbox.run(&["service-account", "delete", "orders", "--yes"]).ok().stdout;
    assert!(deleted.contains("its 2 keys"), "{deleted}");
    sandbox
        .run(&["api-key", "verify", "--resource", "kafka-cluster/x", "--token", &jwt])
        .fails(1, "refused");
}
