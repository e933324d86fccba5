//! The compile-time determinism checker: the Rust counterpart of the
//! Elixir Continuum's AstCheck.
//!
//! It walks a workflow body (or a `#[pure]` helper) and reports every call
//! that would make a replay diverge from the run it replays — clocks,
//! randomness, spawning, real waiting, I/O, global state, unbiased
//! `select!`, hash-ordered containers, printing, the client — each with
//! the deterministic replacement. It is syntactic: it sees paths as
//! written, resolved through the `use` items it can see (the body's, and
//! the module's under `#[continuum::workflows]`), and leaves alone the
//! user's own items (`use crate::…`, items declared in the body, local
//! bindings). What it cannot see — methods on values of unknown type,
//! module-level imports under a plain `#[workflow]` — is covered by the
//! clippy template, the runtime drift check and paranoid replay (see
//! `docs/determinism.md`).
//!
//! Calls to free functions it cannot see into are *helper calls*: the
//! macro emits a probe for each that compiles silently when the helper is
//! `#[pure]` and warns (or, in strict mode, fails) otherwise.

pub mod rules;
pub mod scope;
pub mod tokens;
mod walk;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::visit::Visit;
use syn::visit_mut::{self, VisitMut};

pub use rules::Rule;
pub use scope::Scope;

/// One rejected construct.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The rule it breaks.
    pub rule: Rule,
    /// The construct as written (`SystemTime::now`, `println!`).
    pub what: String,
    /// What an import made of it, when that differs from what is written
    /// (`r` → `rand::random`).
    pub resolved: Option<String>,
    /// Its tokens, for the error's span.
    pub tokens: TokenStream,
}

impl Violation {
    /// The compile error: message, then a `help:` line with the fix.
    pub fn to_error(&self) -> syn::Error {
        let subject = match &self.resolved {
            _ if self.what.starts_with('`') => self.what.clone(),
            Some(full) => format!("`{}` (`{full}`)", self.what),
            None => format!("`{}`", self.what),
        };
        let text = format!("{}\nhelp: {}", self.rule.message(&subject), self.rule.help());
        syn::Error::new_spanned(&self.tokens, text)
    }
}

/// A call to a free function the checker cannot see into.
#[derive(Debug, Clone)]
pub struct HelperCall {
    /// The callee as written.
    pub written: String,
    /// The module the callee lives in, as a path usable from the
    /// workflow's module (`self`, `crate::utils`, `utils`).
    pub module: Vec<String>,
    /// The module path starts with `::`.
    pub absolute: bool,
    /// The function's name.
    pub name: String,
    /// The call's span.
    pub span: Span,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Violations, in source order.
    pub violations: Vec<Violation>,
    /// Helper calls, in source order.
    pub helpers: Vec<HelperCall>,
}

impl Report {
    /// All violations as one combined error, if any.
    pub fn error(&self) -> Option<syn::Error> {
        let mut errors = self.violations.iter().map(Violation::to_error);
        let mut first = errors.next()?;
        for e in errors {
            first.combine(e);
        }
        Some(first)
    }
}

/// The names a module's items bring into scope: its `use` items and the
/// items it declares (for `#[continuum::workflows]` and `#[pure] mod`).
pub fn module_scope(items: &[syn::Item]) -> Scope {
    let mut scope = Scope::default();
    for item in items {
        match item {
            syn::Item::Use(u) => scope.add_use(&u.tree, u.leading_colon.is_some()),
            other => {
                if let Some(name) = walk::item_name(other) {
                    scope.add_item(name.to_string());
                }
            }
        }
    }
    scope
}

/// Checks a function: its parameters are bindings, its body is walked
/// with `base` (the enclosing module's scope, when known) plus what the
/// body declares. `ctx` is the workflow context parameter, if any.
pub fn check_fn(item: &syn::ItemFn, base: &Scope, ctx: Option<&syn::Ident>) -> Report {
    let mut scope = base.clone();
    {
        let mut collect = walk::Collect(&mut scope);
        for input in &item.sig.inputs {
            collect.visit_fn_arg(input);
        }
        collect.visit_block(&item.block);
    }
    let mut walk =
        walk::Walk { scope: &scope, ctx: ctx.map(ToString::to_string), violations: Vec::new(), helpers: Vec::new() };
    walk.visit_block(&item.block);
    Report { violations: walk.violations, helpers: walk.helpers }
}

/// The probes for helper calls: each compiles silently when the helper
/// is `#[pure]` (its marker type shadows the fallback) and otherwise uses
/// a deprecated fallback, so the compiler warns at the call — or, with
/// `strict`, fails.
pub fn helper_probes(helpers: &[HelperCall], strict: bool) -> TokenStream {
    if helpers.is_empty() {
        return TokenStream::new();
    }
    let probes = helpers.iter().map(|h| {
        let name = format_ident!("{}", h.name, span = h.span);
        let module = h.module.iter().map(|m| format_ident!("{}", m, span = h.span));
        let colon = if h.absolute { quote!(::) } else { quote!() };
        let note = format!(
            "`{}` is not `#[pure]`, so the determinism checker cannot see into it; mark it `#[pure]` (which checks \
             it), or wrap the call in `nondeterministic!(…)` if it is deliberate",
            h.written
        );
        let level = if strict { quote!(#[deny(deprecated)]) } else { quote!() };
        let probe = quote_spanned!(h.span=> let _ = #name {};);
        quote! {
            {
                #[deprecated(note = #note)]
                #[allow(non_camel_case_types, dead_code)]
                struct #name {}
                #[allow(dead_code, unused_imports, clippy::all)]
                #level
                fn __continuum_pure_probe() {
                    use #colon #(#module)::* ::*;
                    #probe
                }
            }
        }
    });
    quote! {
        #[doc(hidden)]
        const _: () = { #(#probes)* };
    }
}

/// The marker `#[pure]` leaves beside a helper: a braced struct of the
/// same name lives in the type namespace only, so it never clashes with
/// the function and is imported wherever the function is.
pub fn pure_marker(vis: &syn::Visibility, name: &syn::Ident) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}
    }
}

/// Log macros that repeat on replay unless guarded.
const LOG_MACROS: &[&str] = &["trace", "debug", "info", "warn", "error", "event"];

fn is_log_macro(path: &syn::Path) -> bool {
    let Some(last) = path.segments.last() else { return false };
    let name = last.ident.to_string();
    if !LOG_MACROS.contains(&name.as_str()) {
        return false;
    }
    match path.segments.len() {
        1 => true,
        _ => path.segments.first().is_some_and(|s| s.ident == "tracing" || s.ident == "log"),
    }
}

struct ReplayQuietLogs<'a>(&'a TokenStream);

impl VisitMut for ReplayQuietLogs<'_> {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        if let syn::Expr::Macro(m) = e
            && is_log_macro(&m.mac.path)
        {
            let krate = self.0;
            *e = syn::parse_quote!({ if !#krate::__private::replaying() { #m } });
            return;
        }
        visit_mut::visit_expr_mut(self, e);
    }

    fn visit_stmt_mut(&mut self, s: &mut syn::Stmt) {
        if let syn::Stmt::Macro(m) = s
            && is_log_macro(&m.mac.path)
        {
            let krate = self.0;
            let mac = &m.mac;
            *s = syn::parse_quote!(if !#krate::__private::replaying() { #mac; });
            return;
        }
        visit_mut::visit_stmt_mut(self, s);
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Makes `tracing`/`log` events in a body replay-safe: each runs only
/// when the engine is not replaying, so a log line appears once per run,
/// not once per replay.
pub fn quiet_logs_on_replay(block: &mut syn::Block, krate: &TokenStream) {
    ReplayQuietLogs(krate).visit_block_mut(block);
}

#[cfg(test)]
mod tests;
