//! Cross-process announcements: the two `NOTIFY` channels, the `LISTEN`
//! loop that hears them, and [`notify_owner`], which tells a run's owner
//! that work for it was recorded elsewhere.
//!
//! Announcements are hints only — payload-free for tasks, a run id for
//! runs — and may be lost (while the listener reconnects, or when nobody
//! listens); every waiter also polls. So this module never carries data
//! the journal needs, and never reads or writes a run, a task or a signal.

use std::sync::Arc;
use std::time::Duration;

use continuum_core::error::JournalError;
use continuum_core::ids::RunId;
use continuum_core::journal::RunWake;
use sqlx::postgres::{PgListener, PgPool};
use sqlx::{Postgres, Transaction};
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use crate::rows::backend;

/// The channel new and retried tasks are announced on (no payload).
pub(crate) const TASKS_CHANNEL: &str = "continuum_tasks";

/// The channel that tells a run's owner that work for the run was
/// recorded by another process (payload: the run id), and every process
/// that runs were released for adoption (payload: [`ADOPT_HINT`]).
pub(crate) const RUNS_CHANNEL: &str = "continuum_runs";

/// The payload on [`RUNS_CHANNEL`] saying that runs were released for any
/// process to adopt.
pub(crate) const ADOPT_HINT: &str = "adopt";

/// Wakes `wait_for_tasks` when a task is announced, and passes run hints
/// on to the runtimes using this journal. After every (re)connection —
/// once `LISTEN` is in place — it sends [`RunWake::All`], since hints sent
/// while nobody listened are lost; `wait_for_tasks` also times out, so a
/// lost task announcement costs at most one poll interval.
pub(crate) async fn listen(pool: PgPool, ready: Arc<Notify>, wakes: broadcast::Sender<RunWake>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen_all([TASKS_CHANNEL, RUNS_CHANNEL]).await?;
            Ok::<_, sqlx::Error>(l)
        };
        match listener.await {
            Ok(mut l) => {
                backoff = Duration::from_millis(100);
                let _ = wakes.send(RunWake::All);
                ready.notify_one();
                loop {
                    match l.try_recv().await {
                        Ok(Some(n)) if n.channel() == RUNS_CHANNEL && n.payload() == ADOPT_HINT => {
                            let _ = wakes.send(RunWake::Adopt);
                        }
                        Ok(Some(n)) if n.channel() == RUNS_CHANNEL => match n.payload().parse::<Uuid>() {
                            Ok(id) => {
                                let _ = wakes.send(RunWake::Run(RunId(id)));
                            }
                            Err(_) => tracing::debug!(payload = n.payload(), "ignoring a malformed run hint"),
                        },
                        Ok(Some(_)) => ready.notify_one(),
                        // The connection was lost: connect and LISTEN anew,
                        // then tell everyone to look.
                        Ok(None) => {
                            tracing::debug!("journal listener lost its connection; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "journal listener failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::debug!(error = %e, "journal listener cannot connect; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        if pool.is_closed() {
            return;
        }
    }
}

/// Tells the run's owner, through the runs channel, that work for the run
/// is waiting (sent when the transaction commits).
pub(crate) async fn notify_owner(tx: &mut Transaction<'_, Postgres>, run: RunId) -> Result<(), JournalError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(RUNS_CHANNEL)
        .bind(run.to_string())
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}
