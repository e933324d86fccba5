use super::*;

fn report_in(module: &str, src: &str) -> Report {
    let file: syn::File = syn::parse_str(module).unwrap();
    let base = module_scope(&file.items);
    let item: syn::ItemFn = syn::parse_str(src).unwrap();
    let ctx = syn::Ident::new("ctx", Span::call_site());
    check_fn(&item, &base, Some(&ctx))
}

fn found_in(module: &str, body: &str) -> Vec<(Rule, String)> {
    let src = format!("async fn wf(ctx: &WorkflowContext, input: u32) -> Result<(), E> {{ {body} }}");
    report_in(module, &src).violations.into_iter().map(|v| (v.rule, v.what)).collect()
}

fn found(body: &str) -> Vec<(Rule, String)> {
    found_in("", body)
}

fn rules_of(body: &str) -> Vec<Rule> {
    found(body).into_iter().map(|(r, _)| r).collect()
}

fn helpers(body: &str) -> Vec<String> {
    let src = format!("async fn wf(ctx: &WorkflowContext, input: u32) -> Result<(), E> {{ {body} }}");
    report_in("", &src).helpers.into_iter().map(|h| format!("{} in {}", h.written, h.module.join("::"))).collect()
}

#[test]
fn each_family_is_caught() {
    let cases = [
        ("let t = std::time::SystemTime::now();", Rule::Clock),
        ("let t = Instant::now();", Rule::Clock),
        ("let t = chrono::Utc::now();", Rule::Clock),
        ("let t = Local::now();", Rule::Clock),
        ("let t = time::OffsetDateTime::now_utc();", Rule::Clock),
        ("let x: u8 = rand::random();", Rule::Random),
        ("let r = thread_rng();", Rule::Random),
        ("let r = fastrand::u64(..);", Rule::Random),
        ("getrandom::fill(&mut b);", Rule::Random),
        ("let id = Uuid::new_v4();", Rule::Random),
        ("let id = uuid::Uuid::now_v7();", Rule::Random),
        ("tokio::spawn(async {});", Rule::Spawn),
        ("tokio::task::spawn_blocking(|| ());", Rule::Spawn),
        ("std::thread::spawn(|| ());", Rule::Spawn),
        ("tokio::time::sleep(d).await;", Rule::Wait),
        ("std::thread::sleep(d);", Rule::Wait),
        ("let (tx, rx) = std::sync::mpsc::channel::<u8>();", Rule::Wait),
        ("let (tx, rx) = tokio::sync::oneshot::channel::<u8>();", Rule::Wait),
        ("let c = Condvar::new();", Rule::Wait),
        ("let v = std::env::var(\"X\");", Rule::Env),
        ("let v = env::args();", Rule::Env),
        ("let s = std::fs::read_to_string(p);", Rule::Fs),
        ("let s = tokio::fs::read(p).await;", Rule::Fs),
        ("let s = std::net::TcpStream::connect(a);", Rule::Net),
        ("let s = reqwest::get(u).await;", Rule::Net),
        ("std::process::exit(1);", Rule::Process),
        ("let c = Command::new(\"ls\");", Rule::Process),
        ("static mut N: u32 = 0;", Rule::GlobalState),
        ("static N: AtomicU64 = AtomicU64::new(0);", Rule::GlobalState),
        ("static C: std::sync::OnceLock<u8> = std::sync::OnceLock::new();", Rule::GlobalState),
        ("thread_local! { static X: u8 = 0; }", Rule::GlobalState),
        ("tokio::select! { _ = a => {}, _ = b => {} }", Rule::Select),
        ("futures::select! { _ = a => {}, _ = b => {} }", Rule::Select),
        ("let m: HashMap<u8, u8> = Default::default();", Rule::HashOrder),
        ("let s = std::collections::HashSet::<u8>::new();", Rule::HashOrder),
        ("let s = RandomState::new();", Rule::HashOrder),
        ("println!(\"x\");", Rule::Print),
        ("eprintln!(\"x\");", Rule::Print),
        ("dbg!(input);", Rule::Print),
        ("let r = continuum::Runtime::builder();", Rule::Client),
        ("RT.await_outcome(id, d);", Rule::Client),
        ("client.signal(id, \"approve\", &body);", Rule::Client),
    ];
    for (body, rule) in cases {
        assert_eq!(rules_of(body), [rule], "{body}");
    }
}

#[test]
fn evasions_through_imports_are_resolved() {
    assert_eq!(rules_of("use std::time::Instant as Clock; let t = Clock::now();"), [Rule::Clock]);
    assert_eq!(rules_of("use std::time::{Duration, Instant as I}; let t = I::now();"), [Rule::Clock]);
    assert_eq!(
        rules_of("use std::{time::{SystemTime}, thread}; SystemTime::now(); thread::yield_now();"),
        [Rule::Clock, Rule::Spawn]
    );
    assert_eq!(rules_of("use std::thread::*; sleep(d);"), [Rule::Wait]);
    assert_eq!(rules_of("use tokio::*; spawn(async {});"), [Rule::Spawn]);
    assert_eq!(rules_of("use rand::random as r; let x: u8 = r();"), [Rule::Random]);
    assert_eq!(rules_of("use std::time; let t = time::Instant::now();"), [Rule::Clock]);
    assert_eq!(rules_of("let t = ::std::time::Instant::now();"), [Rule::Clock]);
    assert_eq!(rules_of("let t = core::time::Instant::now();"), [Rule::Clock]);
    assert_eq!(rules_of("let t = <Instant>::now();"), [Rule::Clock]);
    assert_eq!(rules_of("use tokio::select; select! { _ = a => {} }"), [Rule::Select]);
}

#[test]
fn function_paths_used_as_values_are_caught() {
    assert_eq!(rules_of("let f = Instant::now; f();"), [Rule::Clock]);
    assert_eq!(rules_of("let v: Vec<_> = xs.iter().map(|_| ()).map(SystemTime::now).collect();"), [Rule::Clock]);
    assert_eq!(rules_of("let e = t.map(Instant::elapsed);"), [Rule::Clock]);
}

#[test]
fn nested_positions_are_caught() {
    assert_eq!(rules_of("let f = || SystemTime::now(); f();"), [Rule::Clock]);
    assert_eq!(rules_of("{ { let t = Instant::now(); } }"), [Rule::Clock]);
    assert_eq!(rules_of("let t = async { Instant::now() }.await;"), [Rule::Clock]);
    assert_eq!(rules_of("match input { n if rand::random::<bool>() => n, n => n };"), [Rule::Random]);
    assert_eq!(rules_of("if let Ok(v) = std::env::var(\"X\") {}"), [Rule::Env]);
    assert_eq!(rules_of("fn inner() -> u64 { fastrand::u64(..) }"), [Rule::Random]);
}

#[test]
fn macro_arguments_are_checked() {
    assert_eq!(rules_of("let s = format!(\"{:?}\", Instant::now());"), [Rule::Clock]);
    assert_eq!(rules_of("assert!(SystemTime::now() > t, \"late\");"), [Rule::Clock]);
    assert_eq!(rules_of("let v = vec![Instant::now(); 3];"), [Rule::Clock]);
    assert_eq!(rules_of("let _ = write!(s, \"{:?}\", Utc::now());"), [Rule::Clock]);
    assert_eq!(rules_of("let s = format!(\"{}\", format!(\"{:?}\", Instant::now()));"), [Rule::Clock]);
    assert_eq!(rules_of("tracing::info!(at = ?Instant::now(), \"tick\");"), [Rule::Clock]);
    assert_eq!(rules_of("my_macro!(=> weird syntax Uuid::new_v4() <=);"), [Rule::Random]);
    assert_eq!(rules_of("my_macro!(=> inner!(Instant::now()) <=);"), [Rule::Clock]);
    assert_eq!(rules_of("println!(\"{:?}\", Instant::now());"), [Rule::Print, Rule::Clock]);
}

#[test]
fn several_violations_are_reported_together_in_source_order() {
    let found =
        found("let t = SystemTime::now(); let x: u8 = rand::random(); tokio::spawn(async {}); println!(\"{x}\");");
    let rules: Vec<_> = found.iter().map(|(r, _)| *r).collect();
    assert_eq!(rules, [Rule::Clock, Rule::Random, Rule::Spawn, Rule::Print]);
    assert_eq!(found[0].1, "SystemTime::now");
    assert_eq!(found[3].1, "println!");
}

#[test]
fn look_alikes_are_left_alone() {
    let clean = [
        "use crate::clock::Utc; let t = Utc::now();",
        "use crate::clock::{SystemTime, Instant as I}; SystemTime::now(); I::now();",
        "use self::clock::Utc; Utc::now();",
        "use super::clock::*; Utc::now();",
        "struct Instant; impl Instant { fn now() -> u8 { 0 } } let t = Instant::now();",
        "let c = MyClock; let t = c.now();",
        "let t = ctx.now(); let d = ctx.today(); let u = ctx.uuid4(); let r = ctx.random();",
        "let rand = 4; let x = rand + 1;",
        "let env = 3; let y = env * 2;",
        "fn spawn() {} spawn();",
        "let rng = || 4; rng();",
        "let m: BTreeMap<u8, u8> = BTreeMap::new(); let s: BTreeSet<u8> = BTreeSet::new();",
        "let d = std::time::Duration::from_secs(1); let m = std::cmp::max(1, 2);",
        "let s = serde_json::to_string(&input);",
        "let name = env!(\"CARGO_PKG_NAME\");",
        "let x = nondeterministic!(std::time::SystemTime::now());",
        "tokio::select! { biased; _ = a => {}, _ = b => {} }",
        "tracing::info!(n = input, \"charged\");",
        "let h: HashMapLike = HashMapLike::new();",
        "ctx.signal::<u8>(\"approve\").await; ctx.activity(charge, 1).await;",
        "let s = String::from(\"x\"); let v = Vec::<u8>::new(); let o = Some(1).map(|x| x + 1);",
    ];
    for body in clean {
        assert_eq!(found(body), [], "{body}");
    }
}

#[test]
fn module_imports_resolve_under_the_module_attribute() {
    assert_eq!(found_in("use chrono::Utc as Clock;", "let t = Clock::now();").len(), 1);
    assert_eq!(found_in("use std::time::*;", "let f = now;").len(), 0);
    assert_eq!(found_in("use crate::clock::Utc;", "let t = Utc::now();").len(), 0);
    assert_eq!(found_in("struct SystemTime; impl SystemTime { fn now() {} }", "SystemTime::now();").len(), 0);
    assert_eq!(found_in("use std::thread::*;", "sleep(d);").len(), 1);
}

#[test]
fn free_function_calls_become_helper_probes() {
    assert_eq!(helpers("let a = helper(input);"), ["helper in self"]);
    assert_eq!(helpers("let a = utils::helper(input);"), ["utils::helper in utils"]);
    assert_eq!(helpers("use crate::utils::helper; let a = helper(input);"), ["helper in crate::utils"]);
    assert_eq!(helpers("let a = crate::utils::helper(input);"), ["crate::utils::helper in crate::utils"]);
    // Not helpers: std, trusted names, constructors, associated fns,
    // local fns and closures, ctx effects.
    assert_eq!(
        helpers(
            "let a = std::cmp::max(1, 2); drop(a); let s = Some(1); let v = Vec::<u8>::new(); \
             let d = seconds(1); fn local() {} local(); let f = |x: u8| x; f(1); ctx.now(); \
             let j = serde_json::to_string(&a); let x = nondeterministic!(helper(1)); \
             let n = u64::from(1u8); let c = char::from_u32(65);"
        ),
        Vec::<String>::new()
    );
    // A call that already broke a rule is not also a helper.
    assert_eq!(helpers("let x: u8 = rand::random();"), Vec::<String>::new());
}

#[test]
fn broken_rules_get_a_help_line() {
    let r = report_in("", "async fn wf(ctx: &C, i: u8) -> Result<(), E> { let t = std::time::Instant::now(); }");
    let text = r.error().unwrap().to_string();
    assert!(text.starts_with("`std::time::Instant::now` reads a clock"), "{text}");
    assert!(text.contains("\nhelp: use `ctx.now()`"), "{text}");
}

#[test]
fn log_macros_are_guarded_against_replay() {
    let mut block: syn::Block =
        syn::parse_str("{ tracing::info!(\"a\"); let x = { warn!(\"b\") }; info_span!(\"s\"); other!(); }").unwrap();
    quiet_logs_on_replay(&mut block, &quote!(::continuum));
    let text = quote!(#block).to_string();
    assert_eq!(text.matches("replaying").count(), 2, "{text}");
}

mod never_panics {
    use proptest::prelude::*;

    use crate::expand;

    /// Fragments of workflow code, including half-typed ones.
    const PIECES: &[&str] = &[
        "let x = ",
        "ctx.activity(charge, 1).await?;",
        "ctx.",
        "Instant::now()",
        "use std::time::{Instant as I, ",
        "use crate::x::*;",
        "use ::std::thread::*;",
        "}",
        "{",
        "(",
        ")",
        "format!(\"x\", ",
        "tokio::select! { biased; ",
        "nondeterministic!(",
        "static mut X: u8 = 0;",
        "helper(1);",
        "<Instant>::now",
        "|| rand::random::<u8>()",
        "match x { n if ",
        "=> n, }",
        "info!(a = %b, ",
        "x.signal(a, b, c);",
        "::",
        ";",
        "#[pure] fn f() {}",
        "async {",
        "HashMap::<u8, u8>::new()",
    ];

    /// Drops unmatched closers and closes what is left open, so the text
    /// tokenizes (the compiler hands macros balanced token trees only).
    fn balance(text: &str) -> String {
        let mut out = String::new();
        let mut open = Vec::new();
        for c in text.chars() {
            match c {
                '(' | '{' | '[' => open.push(c),
                ')' | '}' | ']' => {
                    let want = match c {
                        ')' => '(',
                        '}' => '{',
                        _ => '[',
                    };
                    if open.last() != Some(&want) {
                        continue;
                    }
                    open.pop();
                }
                _ => {}
            }
            out.push(c);
        }
        while let Some(c) = open.pop() {
            out.push(match c {
                '(' => ')',
                '{' => '}',
                _ => ']',
            });
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever the user has typed so far, the macro returns the item
        /// (so the IDE keeps completing) and never panics.
        #[test]
        fn workflow_expansion_never_panics_and_keeps_the_item(picks in prop::collection::vec(0..PIECES.len(), 0..14)) {
            let body = balance(&picks.iter().map(|&i| PIECES[i]).collect::<Vec<_>>().join(" "));
            let src = format!("async fn wf(ctx: &WorkflowContext, n: u32) -> Result<u32, E> {{ {body} }}");
            let item: proc_macro2::TokenStream = src.parse().map_err(|e| TestCaseError::fail(format!("{e}: {src}")))?;
            let out = expand::workflow(quote::quote!(strict), item.clone()).to_string();
            prop_assert!(out.contains("wf"), "item lost for {src}: {out}");
            let _ = expand::pure(proc_macro2::TokenStream::new(), item);
        }
    }
}
