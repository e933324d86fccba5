//! The journal's own schema: an application's sqlx migrations and the
//! journal's run in either order on one database; an unmigrated or older
//! schema is refused at connect with what to run; journals in two schemas
//! of one database do not see each other; a journal an older version kept
//! in `public` is moved, runs and all.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Journal, RunOutcome, RunStatus};
use continuum_postgres::{MIGRATOR, PostgresError, PostgresJournal, PostgresOptions};
use continuum_testkit::conformance::runs::add_one;
use continuum_testkit::postgres::TestDatabase;
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnection;

#[workflow]
async fn adds(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.activity(add_one, n).await?)
}

async fn database() -> TestDatabase {
    TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"))
}

/// An application's own migrations, in a directory of its own, applied
/// to `public` with sqlx's default migrations table.
async fn app_migrator() -> (Migrator, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("20250101000000_orders.sql"), "CREATE TABLE orders (id bigint PRIMARY KEY);")
        .unwrap();
    std::fs::write(dir.path().join("20250102000000_customers.sql"), "CREATE TABLE customers (id bigint PRIMARY KEY);")
        .unwrap();
    (Migrator::new(dir.path()).await.unwrap(), dir)
}

async fn run_app_migrations(url: &str, app: &Migrator) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    app.run_direct(&mut conn).await.expect("the app's migrations apply");
    let _ = conn.close().await;
}

async fn runtime(journal: Arc<dyn Journal>) -> Runtime {
    Runtime::builder().journal(journal).workflow(adds).activity(add_one).start().await.expect("runtime starts")
}

/// Runs one workflow to completion on the journal.
async fn works(journal: PostgresJournal) {
    let journal: Arc<dyn Journal> = Arc::new(journal);
    let rt = runtime(journal).await;
    let run = rt.start(adds, 1, StartOptions::default()).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(10)).await.unwrap(), 2);
    rt.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_migrations_and_the_journals_run_in_either_order_on_one_database() {
    let (app, _dir) = app_migrator().await;
    // The app first, then the journal, then both again (a redeploy).
    let db = database().await;
    run_app_migrations(db.url(), &app).await;
    works(PostgresJournal::connect_and_migrate(db.url()).await.expect("the journal migrates after the app")).await;
    run_app_migrations(db.url(), &app).await;
    works(PostgresJournal::connect_and_migrate(db.url()).await.expect("and again")).await;
    db.drop_database().await.unwrap();
    // The journal first, then the app, then both again.
    let db = database().await;
    works(PostgresJournal::connect_and_migrate(db.url()).await.expect("the journal migrates first")).await;
    run_app_migrations(db.url(), &app).await;
    works(PostgresJournal::connect_and_migrate(db.url()).await.expect("and again")).await;
    run_app_migrations(db.url(), &app).await;
    // Each migrations table holds its own rows only.
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    let public: Vec<i64> = sqlx::query_scalar("SELECT version FROM public._sqlx_migrations ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(public, vec![20250101000000, 20250102000000]);
    let ours: Vec<i64> = sqlx::query_scalar("SELECT version FROM continuum._sqlx_migrations ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(ours, MIGRATOR.iter().map(|m| m.version).collect::<Vec<_>>());
    let misplaced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'continuum%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(misplaced, 0, "no journal table in public");
    let _ = conn.close().await;
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmigrated_or_older_schema_is_refused_at_connect_saying_what_to_run() {
    let db = database().await;
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap();
    match PostgresJournal::connect(db.url()).await {
        Err(e @ PostgresError::NotMigrated { .. }) => {
            let PostgresError::NotMigrated { schema, applied, expected } = &e else { unreachable!() };
            assert_eq!((schema.as_str(), *applied, *expected), ("continuum", None, latest));
            let message = e.to_string();
            assert!(message.contains("not there") && message.contains("migrate"), "{message}");
        }
        other => panic!("an unmigrated database must be refused: {other:?}"),
    }
    // All migrations but the last: an older schema.
    let all = MIGRATOR.iter().cloned().collect::<Vec<_>>();
    let older = Migrator { migrations: Cow::Owned(all[..all.len() - 1].to_vec()), ..Migrator::DEFAULT };
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    sqlx::query("CREATE SCHEMA continuum").execute(&mut conn).await.unwrap();
    sqlx::query("SET search_path TO continuum").execute(&mut conn).await.unwrap();
    older.run_direct(&mut conn).await.unwrap();
    let _ = conn.close().await;
    match PostgresJournal::connect(db.url()).await {
        Err(PostgresError::NotMigrated { applied, expected, .. }) => {
            assert_eq!(applied, Some(all[all.len() - 2].version));
            assert_eq!(expected, latest);
        }
        other => panic!("an older schema must be refused: {other:?}"),
    }
    // The separately runnable migration brings it up to date.
    continuum_postgres::migrate(&PostgresOptions::new(db.url())).await.expect("migrate");
    works(PostgresJournal::connect(db.url()).await.expect("now it connects")).await;
    // A schema name that is not an identifier is refused before anything.
    match PostgresJournal::connect_with(PostgresOptions::new(db.url()).schema("x; DROP TABLE y")).await {
        Err(PostgresError::InvalidSchema { schema }) => assert_eq!(schema, "x; DROP TABLE y"),
        other => panic!("{other:?}"),
    }
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journals_in_two_schemas_of_one_database_do_not_see_each_other() {
    let db = database().await;
    let a =
        PostgresJournal::connect_with(PostgresOptions::new(db.url()).schema("journal_a").migrate(true)).await.unwrap();
    let b =
        PostgresJournal::connect_with(PostgresOptions::new(db.url()).schema("journal_b").migrate(true)).await.unwrap();
    assert_eq!(a.schema(), "journal_a");
    let a: Arc<dyn Journal> = Arc::new(a);
    let b: Arc<dyn Journal> = Arc::new(b);
    let rt = runtime(a.clone()).await;
    let run = rt.start(adds, 5, StartOptions::id("same-id")).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(10)).await.unwrap(), 6);
    assert!(b.find_workflow_id("same-id").await.unwrap().is_none());
    assert!(b.active_runs().await.unwrap().is_empty());
    let rt_b = runtime(b.clone()).await;
    let other = rt_b.start(adds, 7, StartOptions::id("same-id")).await.expect("the id is free in the other schema");
    assert_eq!(other.result(Duration::from_secs(10)).await.unwrap(), 8);
    assert_eq!(a.run_info(run.id()).await.unwrap().status, RunStatus::Completed);
    rt.shutdown(Duration::from_secs(5)).await.unwrap();
    rt_b.shutdown(Duration::from_secs(5)).await.unwrap();
    drop((a, b));
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_kept_in_public_by_an_older_version_is_moved_with_its_runs() {
    let db = database().await;
    let (app, _dir) = app_migrator().await;
    // The old layout: the journal's tables and migration rows in public,
    // beside the app's.
    // (It took `ignore_missing` on both sides to make them share a table.)
    run_app_migrations(db.url(), &app).await;
    let old_migrator = Migrator { migrations: MIGRATOR.migrations.clone(), ignore_missing: true, ..Migrator::DEFAULT };
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    old_migrator.run_direct(&mut conn).await.expect("the journal's migrations in public");
    let _ = conn.close().await;
    let old =
        PostgresJournal::connect_with(PostgresOptions::new(db.url()).schema("public")).await.expect("the old layout");
    let old: Arc<dyn Journal> = Arc::new(old);
    let rt = runtime(old.clone()).await;
    let done = rt.start(adds, 1, StartOptions::id("before-the-move")).await.unwrap();
    assert_eq!(done.result(Duration::from_secs(10)).await.unwrap(), 2);
    rt.shutdown(Duration::from_secs(5)).await.unwrap();
    drop(old);
    // The new version moves it.
    let moved: Arc<dyn Journal> = Arc::new(PostgresJournal::connect_and_migrate(db.url()).await.expect("moved"));
    let info = moved.find_workflow_id("before-the-move").await.unwrap().expect("the run moved with its tables");
    assert_eq!(info.status, RunStatus::Completed);
    let rt = runtime(moved.clone()).await;
    assert_eq!(
        rt.await_outcome("before-the-move", Duration::from_secs(1)).await.unwrap(),
        RunOutcome::Completed(continuum::Payload::encode(&2u32).unwrap())
    );
    let next = rt.start(adds, 3, StartOptions::default()).await.unwrap();
    assert_eq!(next.result(Duration::from_secs(10)).await.unwrap(), 4);
    rt.shutdown(Duration::from_secs(5)).await.unwrap();
    // The app's migrations still apply, and only its rows stayed in public.
    run_app_migrations(db.url(), &app).await;
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    let public: Vec<i64> = sqlx::query_scalar("SELECT version FROM public._sqlx_migrations ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(public, vec![20250101000000, 20250102000000]);
    let _ = conn.close().await;
    drop(moved);
    db.drop_database().await.unwrap();
}
