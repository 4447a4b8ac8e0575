//! The whole conformance suite, on every kind of database.

mod sqlite_in_memory {
    use std::sync::Arc;

    use keygate_store_sql::SqlStore;

    async fn fresh() -> Arc<SqlStore> {
        Arc::new(SqlStore::in_memory().await.unwrap())
    }

    keygate_store::conformance_tests!(fresh);
}

mod sqlite_file {
    keygate_store::conformance_tests!(crate::api::support::sqlite_file);
}

mod postgres {
    keygate_store::conformance_tests!(crate::api::support::postgres);
}
