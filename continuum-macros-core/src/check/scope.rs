//! What names mean inside a checked body: the `use` items the checker can
//! see (in the body, and in the module under `#[continuum::workflows]`),
//! the items the body declares itself, and its local bindings.

use std::collections::{BTreeMap, BTreeSet};

use syn::visit::{self, Visit};
use syn::{Pat, UseTree};

/// Names visible to a checked body.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `use a::b::C as D;` → `D` ↦ `[a, b, C]`.
    aliases: BTreeMap<String, Vec<String>>,
    /// `use a::b::*;` → `[a, b]`.
    globs: Vec<Vec<String>>,
    /// Some glob brings in the user's own items (`use crate::x::*`): an
    /// unresolved name may be theirs, so suffix-only matches are not
    /// trusted.
    local_glob: bool,
    /// Items declared in the body (or the module): the user's own.
    items: BTreeSet<String>,
    /// `let` bindings, closure and fn parameters.
    bindings: BTreeSet<String>,
}

/// What a path may refer to, as far as the checker can tell.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The user's own code (`crate::`, `self::`, a body-local item, a
    /// local binding): never a violation.
    Local,
    /// Full paths the written one may stand for.
    Candidates {
        /// The path as written, or as an explicit import resolves it
        /// (`None` when a glob of the user's own items may shadow it).
        direct: Option<Vec<String>>,
        /// The path under each glob import in scope. Only exact patterns
        /// are matched against these: a glob makes every unknown name a
        /// possible member, and a whole subtree would match them all.
        globbed: Vec<Vec<String>>,
    },
}

fn is_local_root(segment: &str) -> bool {
    matches!(segment, "crate" | "self" | "super" | "Self")
}

/// `core::` and `alloc::` re-export what `std::` does.
fn normalize(mut path: Vec<String>) -> Vec<String> {
    if let Some(first) = path.first_mut()
        && (first == "core" || first == "alloc")
    {
        *first = "std".to_string();
    }
    path
}

impl Scope {
    /// Adds the names one `use` item brings in.
    pub fn add_use(&mut self, tree: &UseTree, leading_colon: bool) {
        self.add_tree(tree, Vec::new(), leading_colon);
    }

    fn add_tree(&mut self, tree: &UseTree, prefix: Vec<String>, absolute: bool) {
        match tree {
            UseTree::Path(p) => {
                let mut next = prefix;
                next.push(p.ident.to_string());
                self.add_tree(&p.tree, next, absolute);
            }
            UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    // `use a::b::{self}` names `b`.
                    if let Some(last) = prefix.last().cloned() {
                        self.alias(last, prefix, absolute);
                    }
                } else {
                    let mut full = prefix;
                    full.push(name.clone());
                    self.alias(name, full, absolute);
                }
            }
            UseTree::Rename(r) => {
                let mut full = prefix;
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.alias(r.rename.to_string(), full, absolute);
            }
            UseTree::Glob(_) => {
                let full = self.expand(prefix, absolute);
                if full.first().is_none_or(|f| is_local_root(f)) {
                    self.local_glob = true;
                } else {
                    self.globs.push(normalize(full));
                }
            }
            UseTree::Group(g) => {
                for t in &g.items {
                    self.add_tree(t, prefix.clone(), absolute);
                }
            }
        }
    }

    /// Resolves the first segment of a `use` path through earlier imports
    /// (`use std::time; use time::Instant;`).
    fn expand(&self, path: Vec<String>, absolute: bool) -> Vec<String> {
        if absolute {
            return path;
        }
        match path.first().and_then(|f| self.aliases.get(f)) {
            Some(target) => target.iter().cloned().chain(path.into_iter().skip(1)).collect(),
            None => path,
        }
    }

    fn alias(&mut self, name: String, full: Vec<String>, absolute: bool) {
        if name == "_" {
            return;
        }
        let full = self.expand(full, absolute);
        self.aliases.insert(name, normalize(full));
    }

    /// Records an item the user declared.
    pub fn add_item(&mut self, name: String) {
        self.items.insert(name);
    }

    /// Records a local binding.
    pub fn add_binding(&mut self, name: String) {
        self.bindings.insert(name);
    }

    /// Records every binding a pattern introduces.
    pub fn add_pattern(&mut self, pat: &Pat) {
        struct Bindings<'a>(&'a mut Scope);
        impl<'ast> Visit<'ast> for Bindings<'_> {
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                self.0.add_binding(p.ident.to_string());
                visit::visit_pat_ident(self, p);
            }
        }
        Bindings(self).visit_pat(pat);
    }

    /// Whether `name` is something the user declared in the checked code.
    pub fn is_item(&self, name: &str) -> bool {
        self.items.contains(name)
    }

    /// Whether `name` is a local binding.
    pub fn is_binding(&self, name: &str) -> bool {
        self.bindings.contains(name)
    }

    /// What a written path may mean.
    pub fn resolve(&self, segments: &[String], leading_colon: bool) -> Resolved {
        let Some(first) = segments.first() else { return Resolved::Local };
        if leading_colon {
            return Resolved::Candidates { direct: Some(normalize(segments.to_vec())), globbed: Vec::new() };
        }
        if is_local_root(first) {
            return Resolved::Local;
        }
        if let Some(target) = self.aliases.get(first) {
            if target.first().is_none_or(|t| is_local_root(t)) {
                return Resolved::Local;
            }
            let full = target.iter().chain(&segments[1..]).cloned().collect();
            return Resolved::Candidates { direct: Some(full), globbed: Vec::new() };
        }
        if self.items.contains(first) || (segments.len() == 1 && self.bindings.contains(first)) {
            return Resolved::Local;
        }
        Resolved::Candidates {
            direct: (!self.local_glob).then(|| normalize(segments.to_vec())),
            globbed: self.globs.iter().map(|g| g.iter().chain(segments).cloned().collect()).collect(),
        }
    }

    /// The full path an in-scope alias gives `segments`, or `None` when the
    /// path is not imported explicitly.
    pub fn imported(&self, segments: &[String]) -> Option<Vec<String>> {
        let target = self.aliases.get(segments.first()?)?;
        Some(target.iter().chain(&segments[1..]).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(uses: &str) -> Scope {
        let file: syn::File = syn::parse_str(uses).unwrap();
        let mut s = Scope::default();
        for item in file.items {
            if let syn::Item::Use(u) = item {
                s.add_use(&u.tree, u.leading_colon.is_some());
            }
        }
        s
    }

    fn path(s: &str) -> Vec<String> {
        s.split("::").map(String::from).collect()
    }

    fn first(s: &Scope, p: &str) -> Vec<String> {
        match s.resolve(&path(p), false) {
            Resolved::Candidates { direct: Some(d), .. } => d,
            other => panic!("{p} resolved to {other:?}"),
        }
    }

    #[test]
    fn renames_groups_and_chains_resolve() {
        let s = scope(
            "use std::time::{Duration, Instant as I}; use std::{thread, fs as files}; use chrono::Utc as Clock; \
             use std::time; use time::SystemTime as ST;",
        );
        assert_eq!(first(&s, "I::now"), path("std::time::Instant::now"));
        assert_eq!(first(&s, "thread::spawn"), path("std::thread::spawn"));
        assert_eq!(first(&s, "files::read"), path("std::fs::read"));
        assert_eq!(first(&s, "Clock::now"), path("chrono::Utc::now"));
        assert_eq!(first(&s, "ST::now"), path("std::time::SystemTime::now"));
        assert_eq!(first(&s, "Duration::from_secs"), path("std::time::Duration::from_secs"));
    }

    #[test]
    fn globs_add_candidates() {
        let s = scope("use std::thread::*;");
        let Resolved::Candidates { globbed, .. } = s.resolve(&path("sleep"), false) else { panic!() };
        assert_eq!(globbed, [path("std::thread::sleep")]);
    }

    #[test]
    fn crate_imports_and_local_items_are_the_users() {
        let mut s = scope("use crate::clock::Utc; use self::x::Instant as I;");
        assert_eq!(s.resolve(&path("Utc::now"), false), Resolved::Local);
        assert_eq!(s.resolve(&path("I::now"), false), Resolved::Local);
        s.add_item("SystemTime".into());
        assert_eq!(s.resolve(&path("SystemTime::now"), false), Resolved::Local);
        s.add_binding("rng".into());
        assert_eq!(s.resolve(&path("rng"), false), Resolved::Local);
    }

    #[test]
    fn a_glob_of_local_items_makes_unqualified_names_uncertain() {
        let s = scope("use crate::clock::*;");
        let Resolved::Candidates { direct, globbed } = s.resolve(&path("Utc::now"), false) else { panic!() };
        assert!(direct.is_none() && globbed.is_empty());
    }

    #[test]
    fn core_and_alloc_are_std() {
        let s = scope("use core::time::Duration;");
        assert_eq!(first(&s, "Duration::ZERO"), path("std::time::Duration::ZERO"));
        let Resolved::Candidates { direct, .. } = s.resolve(&path("core::time::Instant"), true) else { panic!() };
        assert_eq!(direct, Some(path("std::time::Instant")));
    }
}
