//! Keeps `continuum-core` layered: reads every `crate::…` path in the
//! crate's sources, builds the graph of edges between its top-level
//! modules, and fails on a cycle (printing it) or on an edge that goes up
//! the layer table below.
//!
//! Files within one top-level module may refer to each other (the engine's
//! files each hold a part of `impl Engine`); the layering holds between
//! modules. Paths in comments and doc comments are not edges.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use modules of its own layer or
/// below; within a layer the cycle check keeps the order.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "model: ids, payloads, the clock, commands, events, statuses, outcomes, errors",
        &["ids", "payload", "clock", "retry", "limits", "status", "command", "error", "event", "outcome"],
    ),
    ("what workflow code is written against", &["future", "workflow", "registry"]),
    ("where runs are stored", &["journal"]),
    ("the engine", &["engine"]),
    ("the runtime and the client API", &["runtime"]),
];

/// The source directory, relative to the package root (the working
/// directory of an integration test): never a path baked in at compile
/// time, which a test binary reused by another clone would not find.
fn src_dir() -> PathBuf {
    let dir = PathBuf::from("src");
    assert!(dir.join("lib.rs").is_file(), "run from continuum-core's package root (cargo test does)");
    dir
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("read src").map(|e| e.expect("dir entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(stem) => Some(stem.to_owned()),
        None => Some(first),
    }
}

/// Code without comments: line comments (and doc comments) removed, so an
/// intra-doc link is not an import. String literals are kept as they are;
/// the crate has no `crate::` inside strings that matters here.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code names through `crate::`,
/// including `use crate::{a, b::c}` groups.
fn referenced_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `some_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            // Top-level names of the group: split on commas at depth 0.
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    _ => {}
                }
                item.push(c);
            }
            items.push(item);
            for item in items {
                let name: String = item
                    .trim_start_matches([',', ' ', '\n'])
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
            rest = &group[end.min(group.len())..];
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

/// Edges between top-level modules, each with the files that make it.
fn module_graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files {
        let Some(from) = module_of(&src, &file) else { continue };
        let code = strip_comments(&fs::read_to_string(&file).expect("read source"));
        let node = graph.entry(from.clone()).or_default();
        for to in referenced_modules(&code) {
            if to != from {
                node.entry(to).or_default().insert(file.display().to_string());
            }
        }
    }
    graph
}

/// A cycle in the graph, if any, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|edges| edges.keys()) {
            match state.get(next.as_str()).copied() {
                Some(1) => {
                    let start = path.iter().position(|m| m == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            let mut path = Vec::new();
            if let Some(cycle) = visit(node, graph, &mut state, &mut path) {
                return Some(cycle);
            }
        }
    }
    None
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

#[test]
fn core_modules_form_layers_without_import_loops() {
    let graph = module_graph();
    for (from, edges) in &graph {
        let mut line = format!("{from} ->");
        for to in edges.keys() {
            line.push(' ');
            line.push_str(to);
        }
        println!("{line}");
    }
    if let Some(cycle) = find_cycle(&graph) {
        let mut report = format!("import loop between modules: {}\n", cycle.join(" -> "));
        for pair in cycle.windows(2) {
            let files = &graph[&pair[0]][&pair[1]];
            report.push_str(&format!(
                "  {} -> {} in {}\n",
                pair[0],
                pair[1],
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        panic!("{report}");
    }
    let mut upward = Vec::new();
    for (from, edges) in &graph {
        let Some(own) = layer_of(from) else {
            panic!("module `{from}` is in no layer: add it to LAYERS in tests/layers.rs");
        };
        for (to, files) in edges {
            let Some(theirs) = layer_of(to) else {
                panic!("module `{to}` (used by `{from}`) is in no layer: add it to LAYERS in tests/layers.rs");
            };
            if theirs > own {
                upward.push(format!(
                    "`{from}` ({}) uses `{to}` ({}), a layer above it, in {}",
                    LAYERS[own].0,
                    LAYERS[theirs].0,
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    assert!(upward.is_empty(), "edges up the layers:\n  {}", upward.join("\n  "));
    for (i, (name, modules)) in LAYERS.iter().enumerate() {
        println!("layer {}: {name}: {}", i + 1, modules.join(", "));
    }
}

#[test]
fn the_reader_sees_groups_and_skips_other_crates() {
    let code = "use crate::{a::B, c, d::{e, f}};\nlet x = $crate::g::h; some_crate::i(); crate::j::k();";
    let found: Vec<String> = referenced_modules(code).into_iter().collect();
    assert_eq!(found, ["a", "c", "d", "j"]);
}

#[test]
fn a_loop_is_found_and_named() {
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        graph.entry(from.into()).or_default().entry(to.into()).or_default().insert("f.rs".into());
    }
    assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    graph.get_mut("c").map(|edges| edges.remove("a"));
    assert_eq!(find_cycle(&graph), None);
}
