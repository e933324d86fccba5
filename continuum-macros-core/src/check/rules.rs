//! What the checker rejects: path patterns grouped into rules, each with a
//! message and the deterministic replacement to suggest.
//!
//! A pattern is written as a full path with a `|` marking the shortest
//! suffix a user may write without an import the checker can see:
//! `std::time::|SystemTime::now` matches `std::time::SystemTime::now`,
//! `time::SystemTime::now` and `SystemTime::now`, but not `now`. A trailing
//! `::*` matches everything below the path (`|rand::*` matches
//! `rand::random` and `rand::rngs::OsRng`, not a variable named `rand`).

use std::sync::OnceLock;

/// The families of nondeterminism the checker knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Wall or monotonic clocks.
    Clock,
    /// Random numbers, random ids, OS entropy.
    Random,
    /// Tasks and threads outside the workflow's schedule.
    Spawn,
    /// Real sleeping, timeouts, channels and condition variables.
    Wait,
    /// Environment variables, arguments, working directory, stdin.
    Env,
    /// The file system.
    Fs,
    /// Network clients and sockets.
    Net,
    /// Process spawning, exit, pid.
    Process,
    /// `static mut`, `thread_local!`, statics holding cells, atomics, locks.
    GlobalState,
    /// `tokio::select!` / `futures::select!` without `biased`.
    Select,
    /// Hash containers with randomized iteration order.
    HashOrder,
    /// `println!` and friends.
    Print,
    /// The Continuum client (`Runtime`) called from inside a workflow.
    Client,
}

impl Rule {
    /// What is wrong; `what` is the offending construct, already quoted.
    pub fn message(self, what: &str) -> String {
        match self {
            Rule::Clock => {
                format!("{what} reads a clock, which returns a different value when the workflow is replayed")
            }
            Rule::Random => format!("{what} draws randomness, which differs when the workflow is replayed"),
            Rule::Spawn => format!("{what} starts work outside the workflow's deterministic schedule"),
            Rule::Wait => format!("{what} waits on real time or on a channel the journal does not see"),
            Rule::Env => {
                format!("{what} reads the process environment, which can differ between a run and its replay")
            }
            Rule::Fs => format!("{what} touches the file system, which is not journaled"),
            Rule::Net => format!("{what} does network I/O, which is not journaled"),
            Rule::Process => format!("{what} acts on the operating-system process, which is not journaled"),
            Rule::GlobalState => {
                format!("{what} is global mutable state: its value is not journaled and differs after a restart")
            }
            Rule::Select => {
                format!("{what} picks a random branch when several are ready, so a replay can take another branch")
            }
            Rule::HashOrder => {
                format!("{what} iterates in a random order that changes between a run and its replay")
            }
            Rule::Print => format!("{what} prints again every time the workflow is replayed"),
            Rule::Client => {
                format!(
                    "{what} calls the Continuum client from inside a workflow; the call is not journaled and repeats on replay"
                )
            }
        }
    }

    /// The deterministic replacement.
    pub fn help(self) -> &'static str {
        match self {
            Rule::Clock => {
                "use `ctx.now()` or `ctx.today()`, whose values are journaled; to measure a duration, subtract two `ctx.now()` readings"
            }
            Rule::Random => "use `ctx.random()`, `ctx.random_u64()` or `ctx.uuid4()`, whose values are journaled",
            Rule::Spawn => {
                "run effects concurrently with `join`/`select` from `continuum::prelude`, or move the work into an activity"
            }
            Rule::Wait => {
                "use `ctx.sleep(duration)` for timers and `ctx.signal::<T>(name)` to wait for input from outside"
            }
            Rule::Env => "read it in an activity, or pass it in the workflow's input",
            Rule::Fs | Rule::Net => "do I/O in an activity: `ctx.activity(my_activity, input).await`",
            Rule::Process => "run processes in an activity; to end the workflow, return an error",
            Rule::GlobalState => {
                "keep state in local variables (replay rebuilds them), or record a value with `ctx.side_effect(|| …)`"
            }
            Rule::Select => {
                "use `continuum::select!` (the first ready branch wins, on every replay) or `tokio::select! { biased; … }`"
            }
            Rule::HashOrder => {
                "use `BTreeMap`/`BTreeSet`, or `IndexMap`/`IndexSet`, whose iteration order is deterministic"
            }
            Rule::Print => {
                "use `tracing` (`tracing::info!(…)`): inside a workflow its events are not repeated during replay"
            }
            Rule::Client => "start other workflows as child workflows, or talk to the client from an activity",
        }
    }
}

/// Paths (and what they fall under). Order matters: the first pattern that
/// matches wins, so specific entries come before the subtrees they refine.
pub const PATHS: &[(&str, Rule)] = &[
    // Clocks.
    ("std::time::|SystemTime::now", Rule::Clock),
    ("std::time::|SystemTime::elapsed", Rule::Clock),
    ("std::time::|Instant::now", Rule::Clock),
    ("std::time::|Instant::elapsed", Rule::Clock),
    ("chrono::|Utc::now", Rule::Clock),
    ("chrono::|Utc::today", Rule::Clock),
    ("chrono::|Local::now", Rule::Clock),
    ("chrono::|Local::today", Rule::Clock),
    ("chrono::offset::|Utc::now", Rule::Clock),
    ("chrono::offset::|Local::now", Rule::Clock),
    ("time::|OffsetDateTime::now_utc", Rule::Clock),
    ("time::|OffsetDateTime::now_local", Rule::Clock),
    ("time::|UtcDateTime::now", Rule::Clock),
    ("jiff::|Timestamp::now", Rule::Clock),
    ("jiff::|Zoned::now", Rule::Clock),
    ("quanta::|Instant::now", Rule::Clock),
    // Randomness.
    ("|rand::*", Rule::Random),
    ("|rand::random", Rule::Random),
    ("rand::|thread_rng", Rule::Random),
    ("rand::|rng", Rule::Random),
    ("|rand_core::*", Rule::Random),
    ("|rand_chacha::*", Rule::Random),
    ("|fastrand::*", Rule::Random),
    ("|getrandom::*", Rule::Random),
    ("|nanoid::*", Rule::Random),
    ("uuid::|Uuid::new_v4", Rule::Random),
    ("uuid::|Uuid::now_v1", Rule::Random),
    ("uuid::|Uuid::now_v6", Rule::Random),
    ("uuid::|Uuid::now_v7", Rule::Random),
    ("ulid::|Ulid::new", Rule::Random),
    // Hash order (before `std::collections` could be matched elsewhere).
    ("std::collections::|HashMap", Rule::HashOrder),
    ("std::collections::|HashMap::*", Rule::HashOrder),
    ("std::collections::|HashSet", Rule::HashOrder),
    ("std::collections::|HashSet::*", Rule::HashOrder),
    ("std::collections::hash_map::|HashMap", Rule::HashOrder),
    ("std::collections::hash_map::|HashMap::*", Rule::HashOrder),
    ("std::collections::hash_set::|HashSet", Rule::HashOrder),
    ("std::collections::hash_set::|HashSet::*", Rule::HashOrder),
    ("std::collections::hash_map::|RandomState", Rule::HashOrder),
    ("std::collections::hash_map::|RandomState::*", Rule::HashOrder),
    ("std::hash::|RandomState", Rule::HashOrder),
    ("std::hash::|RandomState::*", Rule::HashOrder),
    ("|hashbrown::HashMap", Rule::HashOrder),
    ("|hashbrown::HashMap::*", Rule::HashOrder),
    ("|hashbrown::HashSet", Rule::HashOrder),
    ("|hashbrown::HashSet::*", Rule::HashOrder),
    // Real waiting (before the thread subtree below).
    ("std::|thread::sleep", Rule::Wait),
    ("std::|thread::park", Rule::Wait),
    ("std::|thread::park_timeout", Rule::Wait),
    ("|tokio::time::*", Rule::Wait),
    ("tokio::time::|sleep", Rule::Wait),
    ("std::sync::|mpsc::*", Rule::Wait),
    ("std::sync::|Condvar", Rule::Wait),
    ("std::sync::|Condvar::*", Rule::Wait),
    ("std::sync::|Barrier::*", Rule::Wait),
    ("tokio::sync::|mpsc::*", Rule::Wait),
    ("tokio::sync::|oneshot::*", Rule::Wait),
    ("tokio::sync::|broadcast::*", Rule::Wait),
    ("tokio::sync::|watch::*", Rule::Wait),
    ("tokio::sync::|Notify", Rule::Wait),
    ("tokio::sync::|Notify::*", Rule::Wait),
    ("tokio::sync::|Barrier::*", Rule::Wait),
    ("|crossbeam_channel::*", Rule::Wait),
    ("|crossbeam::channel::*", Rule::Wait),
    ("|flume::*", Rule::Wait),
    ("|async_channel::*", Rule::Wait),
    ("|futures_timer::*", Rule::Wait),
    ("|async_std::task::sleep", Rule::Wait),
    ("|smol::Timer::*", Rule::Wait),
    // Spawning and threads.
    ("|tokio::spawn", Rule::Spawn),
    ("std::|thread::spawn", Rule::Spawn),
    ("std::|thread::scope", Rule::Spawn),
    ("tokio::task::|spawn_blocking", Rule::Spawn),
    ("tokio::task::|spawn_local", Rule::Spawn),
    ("|tokio::task::*", Rule::Spawn),
    ("|tokio::runtime::*", Rule::Spawn),
    ("std::|thread::*", Rule::Spawn),
    ("|async_std::task::*", Rule::Spawn),
    ("|smol::spawn", Rule::Spawn),
    ("|rayon::spawn", Rule::Spawn),
    ("|rayon::scope", Rule::Spawn),
    ("|rayon::join", Rule::Spawn),
    ("|futures::executor::*", Rule::Spawn),
    // Environment.
    ("std::|env::*", Rule::Env),
    ("std::env::|var", Rule::Env),
    ("std::env::|vars", Rule::Env),
    ("std::env::|args", Rule::Env),
    ("std::io::|stdin", Rule::Env),
    ("|dotenvy::*", Rule::Env),
    // File system.
    ("std::|fs::*", Rule::Fs),
    ("std::fs::|read_to_string", Rule::Fs),
    ("std::fs::|File::open", Rule::Fs),
    ("std::fs::|File::create", Rule::Fs),
    ("std::fs::|OpenOptions::new", Rule::Fs),
    ("tokio::|fs::*", Rule::Fs),
    ("|async_std::fs::*", Rule::Fs),
    ("|tempfile::*", Rule::Fs),
    // Network.
    ("std::|net::*", Rule::Net),
    ("tokio::|net::*", Rule::Net),
    ("|reqwest::*", Rule::Net),
    ("|hyper::Client::*", Rule::Net),
    ("|hyper::client::*", Rule::Net),
    ("|hyper_util::client::*", Rule::Net),
    ("|ureq::*", Rule::Net),
    ("|surf::*", Rule::Net),
    ("|isahc::*", Rule::Net),
    ("|async_std::net::*", Rule::Net),
    ("|sqlx::query", Rule::Net),
    ("|sqlx::query_as", Rule::Net),
    // Processes.
    ("std::|process::*", Rule::Process),
    ("std::process::|Command::new", Rule::Process),
    ("tokio::|process::*", Rule::Process),
    // The client.
    ("continuum::|Runtime::*", Rule::Client),
    ("continuum::|RuntimeBuilder::*", Rule::Client),
    ("continuum::|RunHandle::*", Rule::Client),
    ("continuum::runtime::|Runtime::*", Rule::Client),
];

/// Macros (by path, without `!`). `tokio::select!` is allowed when its
/// first token is `biased;` — that case is decided by the walker.
pub const MACROS: &[(&str, Rule)] = &[
    ("std::|println", Rule::Print),
    ("std::|print", Rule::Print),
    ("std::|eprintln", Rule::Print),
    ("std::|eprint", Rule::Print),
    ("std::|dbg", Rule::Print),
    ("std::|thread_local", Rule::GlobalState),
    ("|tokio::select", Rule::Select),
    ("|futures::select", Rule::Select),
    ("|futures_util::select", Rule::Select),
    ("|lazy_static::lazy_static", Rule::GlobalState),
];

/// Client methods that no workflow API shares a name with.
pub const CLIENT_METHODS: &[&str] = &["await_outcome", "start_by_name", "await_result"];

/// Types that make a `static` declared inside a workflow mutable.
pub const INTERIOR_MUTABLE: &[&str] = &[
    "AtomicBool",
    "AtomicU8",
    "AtomicU16",
    "AtomicU32",
    "AtomicU64",
    "AtomicUsize",
    "AtomicI8",
    "AtomicI16",
    "AtomicI32",
    "AtomicI64",
    "AtomicIsize",
    "AtomicPtr",
    "OnceLock",
    "OnceCell",
    "LazyLock",
    "LazyCell",
    "Lazy",
    "Mutex",
    "RwLock",
    "Cell",
    "RefCell",
    "UnsafeCell",
];

/// Roots whose free functions are trusted without `#[pure]`.
pub const TRUSTED_ROOTS: &[&str] =
    &["std", "core", "alloc", "serde", "serde_json", "continuum", "tracing", "futures", "chrono", "uuid"];

/// Function names trusted when called unqualified (std prelude items and
/// the ones `continuum::prelude` exports, which may arrive through
/// module-level imports the checker cannot see).
pub const TRUSTED_NAMES: &[&str] = &[
    "drop",
    "min",
    "max",
    "swap",
    "replace",
    "take",
    "identity",
    "once",
    "repeat",
    "from_fn",
    "zip",
    "size_of",
    "align_of",
    "type_name",
    "millis",
    "seconds",
    "minutes",
    "hours",
    "days",
    "join",
    "join_all",
    "select",
    "select_all",
    "try_join",
    "try_join_all",
];

/// One parsed pattern.
#[derive(Debug)]
pub struct Pattern {
    segments: Vec<&'static str>,
    anchor: usize,
    subtree: bool,
}

impl Pattern {
    /// Parses `a::b::|C::d` / `|x::*`.
    pub fn parse(text: &'static str) -> Pattern {
        let (prefix, rest) = text.split_once('|').unwrap_or(("", text));
        let anchor = prefix.split("::").filter(|s| !s.is_empty()).count();
        let (rest, subtree) = match rest.strip_suffix("::*") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let segments = prefix.split("::").chain(rest.split("::")).filter(|s| !s.is_empty()).collect();
        Pattern { segments, anchor, subtree }
    }

    /// Whether `path` (already resolved as far as the checker can) is this
    /// pattern, written from any starting segment up to the anchor.
    pub fn matches(&self, path: &[String]) -> bool {
        (0..=self.anchor).any(|start| {
            let want = &self.segments[start..];
            if self.subtree {
                path.len() > want.len() && path.iter().zip(want).all(|(a, b)| a == b)
            } else {
                path.len() == want.len() && path.iter().zip(want).all(|(a, b)| a == b)
            }
        })
    }
}

/// The rule `path` breaks, if any. `subtrees = false` matches exact
/// patterns only (for paths guessed through a glob import).
pub fn rule_for_path(path: &[String], subtrees: bool) -> Option<Rule> {
    static PARSED: OnceLock<Vec<(Pattern, Rule)>> = OnceLock::new();
    find(PARSED.get_or_init(|| parse_table(PATHS)), path, subtrees)
}

/// The rule a macro invocation breaks, if any.
pub fn rule_for_macro(path: &[String], subtrees: bool) -> Option<Rule> {
    static PARSED: OnceLock<Vec<(Pattern, Rule)>> = OnceLock::new();
    find(PARSED.get_or_init(|| parse_table(MACROS)), path, subtrees)
}

/// Parsed once per compiler process, not once per path looked up.
fn parse_table(table: &[(&'static str, Rule)]) -> Vec<(Pattern, Rule)> {
    table.iter().map(|(p, r)| (Pattern::parse(p), *r)).collect()
}

fn find(table: &[(Pattern, Rule)], path: &[String], subtrees: bool) -> Option<Rule> {
    table.iter().find(|(p, _)| (subtrees || !p.subtree) && p.matches(path)).map(|(_, r)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split("::").map(String::from).collect()
    }

    #[test]
    fn suffixes_from_the_anchor_match() {
        let pat = Pattern::parse("std::time::|SystemTime::now");
        assert!(pat.matches(&p("std::time::SystemTime::now")));
        assert!(pat.matches(&p("time::SystemTime::now")));
        assert!(pat.matches(&p("SystemTime::now")));
        assert!(!pat.matches(&p("now")));
        assert!(!pat.matches(&p("SystemTime")));
        assert!(!pat.matches(&p("SystemTime::now::extra")));
    }

    #[test]
    fn subtrees_match_strictly_below() {
        let pat = Pattern::parse("|rand::*");
        assert!(pat.matches(&p("rand::random")));
        assert!(pat.matches(&p("rand::rngs::OsRng")));
        assert!(!pat.matches(&p("rand")), "a variable named `rand` is not randomness");
        assert!(!pat.matches(&p("random")));
    }

    #[test]
    fn every_pattern_parses_to_something_matchable() {
        for (text, _) in PATHS.iter().chain(MACROS) {
            let pat = Pattern::parse(text);
            assert!(!pat.segments.is_empty(), "{text}");
            assert!(pat.anchor < pat.segments.len(), "{text}: the anchor must leave a segment");
            let full: Vec<String> = pat.segments.iter().map(|s| (*s).to_string()).collect();
            let probe = if pat.subtree { [full, vec!["x".into()]].concat() } else { full };
            assert!(pat.matches(&probe), "{text}");
        }
    }

    #[test]
    fn specific_entries_win_over_subtrees() {
        assert_eq!(rule_for_path(&p("std::thread::sleep"), true), Some(Rule::Wait));
        assert_eq!(rule_for_path(&p("std::thread::spawn"), true), Some(Rule::Spawn));
        assert_eq!(rule_for_path(&p("thread::spawn"), true), Some(Rule::Spawn));
        assert_eq!(rule_for_path(&p("HashMap::new"), true), Some(Rule::HashOrder));
        assert_eq!(rule_for_path(&p("Duration::from_secs"), true), None);
        assert_eq!(rule_for_path(&p("BTreeMap::new"), true), None);
    }
}
