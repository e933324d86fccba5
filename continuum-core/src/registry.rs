//! Registered workflows and activities, by name.

use std::collections::HashMap;

use crate::ids::VersionHash;
use crate::workflow::{Activity, ErasedActivity, ErasedWorkflow, Workflow};

/// The workflows and activities a runtime can run.
///
/// A workflow name has one current version (new runs, children and
/// continuations start on it) and may have older versions registered
/// beside it: a run resumes on the version it started on when that
/// version is registered.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    workflows: HashMap<&'static str, ErasedWorkflow>,
    versions: HashMap<(&'static str, VersionHash), ErasedWorkflow>,
    activities: HashMap<&'static str, ErasedActivity>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers workflow `W` as the current version of its name
    /// (replacing the current one; that one stays registered as an older
    /// version).
    pub fn register_workflow<W: Workflow>(&mut self) -> &mut Self {
        let workflow = ErasedWorkflow::of::<W>();
        self.versions.insert((W::NAME, W::VERSION), workflow.clone());
        self.workflows.insert(W::NAME, workflow);
        self
    }

    /// Registers workflow `W` as an older version of its name: runs that
    /// started on it resume on it; new runs start on the current version.
    /// Keep an old body compiled under another Rust name with the same
    /// registered name (`#[workflow(name = "…")]`): its version hash stays
    /// the one its runs recorded.
    pub fn register_workflow_version<W: Workflow>(&mut self) -> &mut Self {
        self.versions.insert((W::NAME, W::VERSION), ErasedWorkflow::of::<W>());
        self
    }

    /// Registers activity `A` (replacing one of the same name).
    pub fn register_activity<A: Activity>(&mut self) -> &mut Self {
        self.activities.insert(A::NAME, ErasedActivity::of::<A>());
        self
    }

    /// Registers an erased activity (mocks use this).
    pub fn insert_activity(&mut self, activity: ErasedActivity) -> &mut Self {
        self.activities.insert(activity.name, activity);
        self
    }

    /// The current version of the workflow registered under `name`.
    pub fn workflow(&self, name: &str) -> Option<&ErasedWorkflow> {
        self.workflows.get(name)
    }

    /// The exact version `version` of workflow `name`, if registered.
    pub fn workflow_version(&self, name: &str, version: VersionHash) -> Option<&ErasedWorkflow> {
        self.versions.iter().find(|((n, v), _)| *n == name && *v == version).map(|(_, w)| w)
    }

    /// Every registered (workflow name, version) pair, sorted.
    pub fn versions(&self) -> Vec<(String, VersionHash)> {
        let mut out: Vec<(String, VersionHash)> = self.versions.keys().map(|(n, v)| ((*n).to_owned(), *v)).collect();
        out.sort();
        out
    }

    /// Every registered version, with whether it is its workflow's current
    /// one, sorted: what a process registers as serving.
    pub fn served(&self) -> Vec<ServedVersion> {
        self.versions()
            .into_iter()
            .map(|(workflow, version)| {
                let current = self.workflows.get(workflow.as_str()).is_some_and(|w| w.version == version);
                ServedVersion { workflow, version, current }
            })
            .collect()
    }

    /// The names of the registered workflows, sorted.
    pub fn workflow_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.workflows.keys().map(|n| (*n).to_owned()).collect();
        names.sort();
        names
    }

    /// The names of the registered activities, sorted.
    pub fn activity_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.activities.keys().map(|n| (*n).to_owned()).collect();
        names.sort();
        names
    }

    /// The activity registered under `name`.
    pub fn activity(&self, name: &str) -> Option<&ErasedActivity> {
        self.activities.get(name)
    }
}

/// A workflow version a process serves, as it registers it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServedVersion {
    /// The workflow's registered name.
    pub workflow: String,
    /// The version.
    pub version: VersionHash,
    /// Whether new runs of the workflow start on this version there (an
    /// older version is kept only for runs that started on it).
    pub current: bool,
}
