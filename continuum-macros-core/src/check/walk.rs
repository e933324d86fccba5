//! The walk over a checked body: first the names it declares and imports,
//! then every path, macro, static and call in it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Token};

use super::rules::{self, Rule};
use super::scope::{Resolved, Scope};
use super::tokens::{ScannedPath, scan};
use super::{HelperCall, Violation};

/// The arguments of a macro, when they are a comma-separated list of
/// expressions (`format!`, `vec!`, `assert_eq!`, `write!`, …) or
/// `expr; expr` (`vec![x; n]`).
pub(crate) fn macro_exprs(tokens: &TokenStream) -> Option<Vec<Expr>> {
    if tokens.is_empty() {
        return Some(Vec::new());
    }
    let list = syn::parse::Parser::parse2(Punctuated::<Expr, Token![,]>::parse_terminated, tokens.clone());
    if let Ok(list) = list {
        return Some(list.into_iter().collect());
    }
    let repeat = syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream<'_>| {
            let a: Expr = input.parse()?;
            input.parse::<Token![;]>()?;
            let b: Expr = input.parse()?;
            Ok(vec![a, b])
        },
        tokens.clone(),
    );
    repeat.ok()
}

fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Primitive types, whose associated functions look like module paths.
const PRIMITIVES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64", "bool",
    "char", "str",
];

fn starts_lowercase(s: &str) -> bool {
    s.starts_with(|c: char| c.is_lowercase() || c == '_')
}

/// The name an item declares, if it declares one (a `macro_rules!` too).
pub(crate) fn item_name(item: &syn::Item) -> Option<&syn::Ident> {
    match item {
        syn::Item::Fn(i) => Some(&i.sig.ident),
        syn::Item::Struct(i) => Some(&i.ident),
        syn::Item::Enum(i) => Some(&i.ident),
        syn::Item::Union(i) => Some(&i.ident),
        syn::Item::Type(i) => Some(&i.ident),
        syn::Item::Trait(i) => Some(&i.ident),
        syn::Item::Mod(i) => Some(&i.ident),
        syn::Item::Const(i) => Some(&i.ident),
        syn::Item::Static(i) => Some(&i.ident),
        syn::Item::Macro(i) => i.ident.as_ref(),
        _ => None,
    }
}

/// Collects the names a body declares, binds and imports.
pub(crate) struct Collect<'a>(pub(crate) &'a mut Scope);

impl<'ast> Visit<'ast> for Collect<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.0.add_use(&u.tree, u.leading_colon.is_some());
    }
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let name = item_name(item);
        if let Some(name) = name {
            self.0.add_item(name.to_string());
        }
        visit::visit_item(self, item);
    }
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.0.add_binding(p.ident.to_string());
        visit::visit_pat_ident(self, p);
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(exprs) = macro_exprs(&mac.tokens) {
            for e in &exprs {
                self.visit_expr(e);
            }
        }
    }
}

/// Finds violations and helper calls.
pub(crate) struct Walk<'a> {
    pub(crate) scope: &'a Scope,
    pub(crate) ctx: Option<String>,
    pub(crate) violations: Vec<Violation>,
    pub(crate) helpers: Vec<HelperCall>,
}

impl Walk<'_> {
    fn report(&mut self, rule: Rule, what: String, tokens: TokenStream) {
        self.violations.push(Violation { rule, what, resolved: None, tokens });
    }

    /// The first rule `segs` breaks under any reading the scope allows,
    /// with the full path that broke it.
    fn rule(
        &self,
        segs: &[String],
        leading_colon: bool,
        table: fn(&[String], bool) -> Option<Rule>,
    ) -> Option<(Rule, Vec<String>)> {
        match self.scope.resolve(segs, leading_colon) {
            Resolved::Local => None,
            Resolved::Candidates { direct, globbed } => direct
                .and_then(|d| table(&d, true).map(|r| (r, d)))
                .or_else(|| globbed.into_iter().find_map(|g| table(&g, false).map(|r| (r, g)))),
        }
    }

    /// How a reported path reads: as written, plus what it resolved to
    /// when an import renamed or completed it.
    fn describe(segs: &[String], leading_colon: bool, full: &[String], macro_bang: bool) -> (String, Option<String>) {
        let bang = if macro_bang { "!" } else { "" };
        let what = format!("{}{}{bang}", if leading_colon { "::" } else { "" }, segs.join("::"));
        let resolved = (full != segs).then(|| format!("{}{bang}", full.join("::")));
        (what, resolved)
    }

    /// Checks one path; returns whether it broke a rule.
    fn check_segments(&mut self, segs: &[String], leading_colon: bool, tokens: TokenStream) -> bool {
        let hit = self.rule(segs, leading_colon, rules::rule_for_path);
        let found = hit.is_some();
        if let Some((rule, full)) = hit {
            let (what, resolved) = Self::describe(segs, leading_colon, &full, false);
            self.violations.push(Violation { rule, what, resolved, tokens });
        }
        found
    }

    fn check_path(&mut self, path: &syn::Path) -> bool {
        self.check_segments(&segments(path), path.leading_colon.is_some(), path.to_token_stream())
    }

    /// `<Instant>::now` written with a qualified self type.
    fn check_qself(&mut self, qself: &syn::QSelf, path: &syn::Path) {
        if qself.position != 0 {
            return;
        }
        if let syn::Type::Path(tp) = &*qself.ty
            && tp.qself.is_none()
        {
            let mut segs = segments(&tp.path);
            segs.extend(segments(path));
            self.check_segments(&segs, tp.path.leading_colon.is_some(), tp.path.to_token_stream());
        }
    }

    fn check_macro(&mut self, segs: &[String], leading_colon: bool, path_tokens: TokenStream, args: &TokenStream) {
        let name = segs.last().map(String::as_str).unwrap_or_default();
        if name == "nondeterministic" {
            return;
        }
        let hit = self.rule(segs, leading_colon, rules::rule_for_macro);
        if let Some((rule, full)) = hit {
            let biased = matches!(
                args.clone().into_iter().take(2).map(|t| t.to_string()).collect::<Vec<_>>().as_slice(),
                [b, semi] if b == "biased" && semi == ";"
            );
            if !(rule == Rule::Select && biased) {
                let (what, resolved) = Self::describe(segs, leading_colon, &full, true);
                self.violations.push(Violation { rule, what, resolved, tokens: path_tokens });
            }
        }
        match macro_exprs(args) {
            Some(exprs) => {
                for e in &exprs {
                    self.visit_expr(e);
                }
            }
            None => scan(args.clone(), &mut |p: ScannedPath| match &p.macro_args {
                Some(inner) => self.check_macro(&p.segments, p.leading_colon, p.tokens.clone(), inner),
                None => {
                    self.check_segments(&p.segments, p.leading_colon, p.tokens);
                }
            }),
        }
    }

    fn is_ctx(&self, e: &Expr) -> bool {
        match (e, &self.ctx) {
            (Expr::Path(p), Some(ctx)) => p.qself.is_none() && p.path.is_ident(ctx),
            _ => false,
        }
    }

    /// A call to a free function the checker cannot see into.
    fn note_helper(&mut self, path: &syn::Path, span: Span) {
        let segs = segments(path);
        let Some(name) = segs.last() else { return };
        if !starts_lowercase(name) || (segs.len() >= 2 && !starts_lowercase(&segs[segs.len() - 2])) {
            return; // a constructor or an associated function
        }
        if segs.len() >= 2 && PRIMITIVES.contains(&segs[segs.len() - 2].as_str()) {
            return; // `u64::from`, `char::from_u32`: associated functions of primitives
        }
        if path.leading_colon.is_none() && segs.len() == 1 && rules::TRUSTED_NAMES.contains(&name.as_str()) {
            return;
        }
        let first = &segs[0];
        let absolute = path.leading_colon.is_some();
        let imported = if absolute { None } else { self.scope.imported(&segs) };
        let full = match imported {
            Some(full) => full,
            // Declared in the checked code (a nested fn, a closure
            // binding): checked along with it.
            None if !absolute && (self.scope.is_item(first) || (segs.len() == 1 && self.scope.is_binding(first))) => {
                return;
            }
            None => segs.clone(),
        };
        if full.first().is_some_and(|root| rules::TRUSTED_ROOTS.contains(&root.as_str())) {
            return;
        }
        let module: Vec<String> = match full.len() {
            0 | 1 => vec!["self".to_string()],
            n => full[..n - 1].to_vec(),
        };
        self.helpers.push(HelperCall {
            written: segs.join("::"),
            module,
            absolute: path.leading_colon.is_some(),
            name: name.clone(),
            span,
        });
    }
}

impl<'ast> Visit<'ast> for Walk<'_> {
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.check_path(path);
        visit::visit_path(self, path);
    }

    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        match &e.qself {
            Some(q) => {
                self.check_qself(q, &e.path);
                visit::visit_expr_path(self, e);
            }
            None => self.visit_path(&e.path),
        }
    }

    fn visit_type_path(&mut self, t: &'ast syn::TypePath) {
        match &t.qself {
            Some(q) => {
                self.check_qself(q, &t.path);
                visit::visit_type_path(self, t);
            }
            None => self.visit_path(&t.path),
        }
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*call.func
            && p.qself.is_none()
        {
            let before = self.violations.len();
            self.visit_path(&p.path);
            if self.violations.len() == before {
                self.note_helper(&p.path, p.path.span());
            }
            for a in &call.args {
                self.visit_expr(a);
            }
            return;
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        let client = rules::CLIENT_METHODS.contains(&method.as_str())
            || (!self.is_ctx(&call.receiver)
                && matches!((method.as_str(), call.args.len()), ("signal", 2 | 3) | ("cancel", 2) | ("start", 3)));
        if client {
            self.report(Rule::Client, format!(".{method}(…)"), call.method.to_token_stream());
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let segs = segments(&mac.path);
        self.check_macro(&segs, mac.path.leading_colon.is_some(), mac.path.to_token_stream(), &mac.tokens);
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        let static_token = &s.static_token;
        let ident = &s.ident;
        if let syn::StaticMutability::Mut(m) = &s.mutability {
            self.report(Rule::GlobalState, format!("`static mut {ident}`"), quote!(#static_token #m #ident));
        } else {
            struct Mentions(bool);
            impl<'ast> Visit<'ast> for Mentions {
                fn visit_path_segment(&mut self, seg: &'ast syn::PathSegment) {
                    self.0 |= rules::INTERIOR_MUTABLE.contains(&seg.ident.to_string().as_str());
                    visit::visit_path_segment(self, seg);
                }
            }
            let mut m = Mentions(false);
            m.visit_type(&s.ty);
            if m.0 {
                self.report(Rule::GlobalState, format!("`static {ident}`"), quote!(#static_token #ident));
            }
        }
        visit::visit_item_static(self, s);
    }
}
