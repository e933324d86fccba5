//! Registered workflows and activities, by name.

use std::collections::HashMap;

use crate::workflow::{Activity, ErasedActivity, ErasedWorkflow, Workflow};

/// The workflows and activities a runtime can run.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    workflows: HashMap<&'static str, ErasedWorkflow>,
    activities: HashMap<&'static str, ErasedActivity>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers workflow `W` (replacing one of the same name).
    pub fn register_workflow<W: Workflow>(&mut self) -> &mut Self {
        self.workflows.insert(W::NAME, ErasedWorkflow::of::<W>());
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

    /// The workflow registered under `name`.
    pub fn workflow(&self, name: &str) -> Option<&ErasedWorkflow> {
        self.workflows.get(name)
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
