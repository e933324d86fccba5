//! The generated-program runner (`continuum_testkit::runner`) on every
//! journal: the in-memory one and PostgreSQL (a fresh database per batch).
//! `CONTINUUM_RUNNER_PROGRAMS=100000` runs a soak instead of the CI tier.

use std::time::Duration;

use continuum::InMemoryJournal;
use continuum_postgres::PostgresJournal;
use continuum_testkit::conformance::JournalUnderTest;
use continuum_testkit::postgres::TestDatabase;

async fn memory_journal() -> JournalUnderTest {
    JournalUnderTest::new(InMemoryJournal::new())
}

async fn postgres_journal() -> JournalUnderTest {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let journal = PostgresJournal::connect_and_migrate(db.url())
        .await
        .expect("connect")
        .with_run_lease(Duration::from_millis(500));
    JournalUnderTest::new(journal).cleanup_with(async move {
        let _ = db.drop_database().await;
    })
}

mod memory {
    continuum_testkit::runner_tests!(super::memory_journal);
}

mod postgres {
    continuum_testkit::runner_tests!(super::postgres_journal);
}
