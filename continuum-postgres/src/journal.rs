//! [`Journal`] for [`PostgresJournal`]: the trait's map onto this crate's
//! files. Every method hands over to the module that owns its concern
//! (`commit`, `leases`, `queries`, `mailbox`, `tasks`, `versions`); none
//! holds logic or SQL of its own, so a behaviour is never found here.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use continuum_core::error::JournalError;
use continuum_core::event::HistoryEvent;
use continuum_core::ids::RunId;
use continuum_core::journal::{
    ActivityTask, AttemptResult, Claim, Journal, Lease, LoadedRun, MailboxSignal, NewRun, PendingWork, RunAppend,
    RunInfo, RunStatus, RunWake, RunWrite, Servable, ServedVersion, StoredResult, TaskLease, TaskOutcome, Written,
};
use continuum_core::payload::Payload;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::connection::PostgresJournal;
use crate::{commit, leases, mailbox, queries, tasks, versions};

#[async_trait]
impl Journal for PostgresJournal {
    async fn create_run(&self, run: NewRun) -> Result<Lease, JournalError> {
        commit::commit_one(&self.pool, self.run_lease, run.into_write(Utc::now())).await.map(|w| w.lease)
    }

    async fn acquire_run(&self, run: RunId) -> Result<Lease, JournalError> {
        leases::acquire(&self.pool, self.run_lease, run).await
    }

    async fn reacquire_run(&self, lease: &Lease) -> Result<Lease, JournalError> {
        leases::reacquire(&self.pool, self.run_lease, lease).await
    }

    async fn run_info(&self, run: RunId) -> Result<RunInfo, JournalError> {
        queries::run_info(&self.pool, run).await
    }

    async fn find_workflow_id(&self, workflow_id: &str) -> Result<Option<RunInfo>, JournalError> {
        queries::find_workflow_id(&self.pool, workflow_id).await
    }

    async fn history(&self, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError> {
        queries::history(&self.pool, run).await
    }

    async fn append(&self, append: RunAppend) -> Result<(), JournalError> {
        commit::commit_one(&self.pool, self.run_lease, RunWrite { create: None, append }).await.map(|_| ())
    }

    async fn commit(&self, writes: Vec<RunWrite>) -> Result<Vec<Result<Written, JournalError>>, JournalError> {
        commit::commit(&self.pool, self.run_lease, writes).await
    }

    async fn active_runs(&self) -> Result<Vec<RunId>, JournalError> {
        queries::active_runs(&self.pool).await
    }

    async fn send_signal(&self, run: RunId, name: &str, payload: Payload) -> Result<MailboxSignal, JournalError> {
        mailbox::send_signal(&self.pool, run, name, payload).await
    }

    async fn send_signal_once(
        &self,
        run: RunId,
        name: &str,
        payload: Payload,
        delivery_id: &str,
    ) -> Result<Option<MailboxSignal>, JournalError> {
        mailbox::send_signal_once(&self.pool, run, name, payload, delivery_id).await
    }

    async fn mailbox(&self, run: RunId) -> Result<Vec<MailboxSignal>, JournalError> {
        mailbox::mailbox(&self.pool, run).await
    }

    async fn claim_tasks(
        &self,
        max: usize,
        ttl: Duration,
        activities: Option<&[String]>,
    ) -> Result<Claim, JournalError> {
        tasks::claim(&self.pool, max, ttl, activities).await
    }

    async fn heartbeat_task(&self, task: &ActivityTask, ttl: Duration) -> Result<(), JournalError> {
        tasks::heartbeat(&self.pool, task, ttl).await
    }

    async fn heartbeat_tasks(&self, leases: &[TaskLease], ttl: Duration) -> Result<Vec<TaskLease>, JournalError> {
        tasks::heartbeat_many(&self.pool, leases, ttl).await
    }

    async fn finish_attempt(
        &self,
        task: &ActivityTask,
        result: AttemptResult,
    ) -> Result<Option<TaskOutcome>, JournalError> {
        tasks::finish_attempt(&self.pool, task, result).await
    }

    async fn store_result(&self, stored: StoredResult) -> Result<Payload, JournalError> {
        tasks::store_result(&self.pool, stored).await
    }

    async fn finished_tasks(&self, run: RunId) -> Result<Vec<TaskOutcome>, JournalError> {
        tasks::finished(&self.pool, run).await
    }

    async fn next_task_due(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        tasks::next_due(&self.pool).await
    }

    async fn wait_for_tasks(&self, max_wait: Duration) {
        tasks::wait_for_tasks(&self.tasks_ready, max_wait).await;
    }

    fn run_leases_expire(&self) -> bool {
        true
    }

    async fn renew_run_leases(&self, leases: &[Lease]) -> Result<Vec<RunId>, JournalError> {
        leases::renew(&self.pool, self.run_lease, leases).await
    }

    async fn pending_work(&self, runs: &[RunId]) -> Result<PendingWork, JournalError> {
        mailbox::pending_work(&self.pool, runs).await
    }

    async fn chain_tip(&self, run: RunId) -> Result<RunId, JournalError> {
        queries::chain_tip(&self.pool, run).await
    }

    async fn running_children(&self, run: RunId) -> Result<Vec<RunId>, JournalError> {
        queries::running_children(&self.pool, run).await
    }

    fn run_wakeups(&self) -> Option<broadcast::Receiver<RunWake>> {
        Some(self.wakes.subscribe())
    }

    async fn run_statuses(&self, runs: &[RunId]) -> Result<Vec<(RunId, RunStatus)>, JournalError> {
        queries::run_statuses(&self.pool, runs).await
    }

    async fn claim_orphaned_runs(&self, max: usize, servable: &Servable) -> Result<Vec<RunId>, JournalError> {
        leases::claim_orphaned(&self.pool, self.run_lease, max, servable).await
    }

    async fn register_versions(
        &self,
        process: Uuid,
        versions: &[ServedVersion],
        alive_for: Duration,
    ) -> Result<(), JournalError> {
        versions::register_versions(&self.pool, process, versions, alive_for).await
    }

    async fn served_versions(&self, except: Uuid) -> Result<Vec<ServedVersion>, JournalError> {
        versions::served_versions(&self.pool, except).await
    }

    async fn release_run(&self, lease: &Lease, backoff: Duration) -> Result<(), JournalError> {
        leases::release(&self.pool, lease, backoff).await
    }

    async fn load_runs(&self, runs: &[RunId]) -> Result<Vec<LoadedRun>, JournalError> {
        leases::load_many(&self.pool, self.run_lease, runs).await
    }

    async fn release_runs(&self, leases: &[Lease], backoff: Duration) -> Result<(), JournalError> {
        leases::release_many(&self.pool, leases, backoff).await
    }

    async fn release_tasks(&self, leases: &[TaskLease]) -> Result<(), JournalError> {
        tasks::release(&self.pool, leases).await
    }
}
