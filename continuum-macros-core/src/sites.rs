//! Effect sites: every `ctx.<effect>(…)` call in a workflow body gets a
//! static id, baked into the generated code.
//!
//! The id is derived from the workflow's name, the effect, the effect's
//! *target* (the activity path for `activity`, the signal name for
//! `signal`) and how many earlier calls in a pre-order walk of the body
//! share that effect and target. It never depends on spans or line
//! numbers, so reformatting, comments and unrelated statements leave every
//! id where it was; moving a call or pointing it at another activity
//! changes what replay sees and is reported as drift.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprMethodCall, Ident, Lit};

use crate::hash::{site_id, version_hash};

/// The context methods that are effects and get a site.
pub const EFFECTS: &[&str] = &[
    "activity",
    "sleep",
    "signal",
    "now",
    "today",
    "uuid4",
    "random",
    "random_u64",
    "side_effect",
    "patched",
    "compensate",
    "compensate_all",
    "child",
    "start_child",
];

/// One effect call site found in a body.
#[derive(Debug, Clone)]
pub struct Site {
    /// The effect method.
    pub effect: String,
    /// What the effect targets (activity path, signal name), or empty.
    pub target: String,
    /// Earlier sites with the same effect and target.
    pub index: u32,
    /// The stable id.
    pub id: u64,
    /// The call as a human would write it, span-free.
    pub label: String,
    /// Where the call is (for `line!()` in generated code only).
    pub span: Span,
}

impl Site {
    /// `SiteInfo { … }` for this site, with `file!()`/`line!()`/`column!()`
    /// resolved at the call's span. `krate` is the path to the `continuum`
    /// crate.
    pub fn info_tokens(&self, krate: &TokenStream) -> TokenStream {
        let id = self.id;
        let effect = &self.effect;
        let label = &self.label;
        let loc = quote_spanned! {self.span=> ::core::file!(), ::core::line!(), ::core::column!() };
        quote! {
            #krate::__private::site_info(#krate::__private::SiteId(#id), #effect, #label, #loc)
        }
    }
}

/// Span-free text of an effect's target.
fn target_of(effect: &str, call: &ExprMethodCall) -> String {
    let Some(first) = call.args.first() else { return String::new() };
    match (effect, first) {
        ("activity" | "child" | "start_child", Expr::Path(p)) => {
            p.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::")
        }
        ("signal" | "patched", Expr::Lit(l)) => match &l.lit {
            Lit::Str(s) => format!("{:?}", s.value()),
            _ => format!("#{}", version_hash(first.to_token_stream()).short()),
        },
        ("activity" | "child" | "start_child" | "signal" | "patched", other) => {
            format!("#{}", version_hash(other.to_token_stream()).short())
        }
        _ => String::new(),
    }
}

struct SiteVisitor<'a> {
    workflow: &'a str,
    ctx: &'a Ident,
    krate: &'a TokenStream,
    seen: HashMap<(String, String), u32>,
    sites: Vec<Site>,
}

impl VisitMut for SiteVisitor<'_> {
    fn visit_expr_method_call_mut(&mut self, call: &mut ExprMethodCall) {
        let method = call.method.to_string();
        let is_ctx = matches!(&*call.receiver, Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.ctx));
        if is_ctx && EFFECTS.contains(&method.as_str()) {
            let target = target_of(&method, call);
            let counter = self.seen.entry((method.clone(), target.clone())).or_insert(0);
            let index = *counter;
            *counter += 1;
            let key = format!("{method}:{target}");
            let label = match (method.as_str(), target.is_empty()) {
                (_, true) if call.args.is_empty() => format!("{}.{method}()", self.ctx),
                (_, true) => format!("{}.{method}(…)", self.ctx),
                (_, false) if call.args.len() == 1 => format!("{}.{method}({target})", self.ctx),
                (_, false) => format!("{}.{method}({target}, …)", self.ctx),
            };
            let site = Site {
                effect: method,
                target,
                index,
                id: site_id(self.workflow, &key, index),
                label,
                span: call.span(),
            };
            let info = site.info_tokens(self.krate);
            let ctx = self.ctx;
            let span = call.receiver.span();
            *call.receiver = syn::parse_quote_spanned! {span=> #ctx.__at(#info) };
            self.sites.push(site);
        }
        // Pre-order: this call first, then its receiver chain and arguments.
        visit_mut::visit_expr_method_call_mut(self, call);
    }

    // Nested items cannot see the context; their bodies are not workflow
    // code.
    fn visit_item_mut(&mut self, _item: &mut syn::Item) {}
}

/// Rewrites every `ctx.<effect>(…)` in `block` to bind its site, and
/// returns the sites in walk order.
pub fn rewrite_sites(workflow: &str, ctx: &Ident, krate: &TokenStream, block: &mut syn::Block) -> Vec<Site> {
    let mut v = SiteVisitor { workflow, ctx, krate, seen: HashMap::new(), sites: Vec::new() };
    v.visit_block_mut(block);
    v.sites
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites_of(src: &str) -> Vec<Site> {
        let mut block: syn::Block = syn::parse_str(src).unwrap();
        let ctx = Ident::new("ctx", Span::call_site());
        rewrite_sites("wf", &ctx, &quote!(::continuum), &mut block)
    }

    fn ids(src: &str) -> Vec<(String, u64)> {
        sites_of(src).into_iter().map(|s| (s.label, s.id)).collect()
    }

    #[test]
    fn finds_effects_in_walk_order_including_nested_and_closures() {
        let s = sites_of(
            "{ let a = ctx.activity(charge, ctx.uuid4()).await; \
               let f = async { ctx.sleep(d).await }; \
               let g = |x| ctx.side_effect(|| x); \
               other.now(); \
               fn inner(ctx: &C) { ctx.now(); } }",
        );
        let labels: Vec<_> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["ctx.activity(charge, …)", "ctx.uuid4()", "ctx.sleep(…)", "ctx.side_effect(…)"]);
    }

    #[test]
    fn reformatting_and_comments_and_unrelated_code_keep_ids() {
        let a = ids("{ let r = ctx.activity(a, 1).await?; ctx.sleep(d).await; ctx.activity(b, r).await }");
        let b =
            ids("{\n  // charge first\n  let r = ctx\n    .activity(a, 1)\n    .await?;\n  let unrelated = 5 * 2;\n  \
             /* wait */ ctx.sleep(d).await;\n  ctx.activity(b, r).await\n}");
        assert_eq!(a, b);
    }

    #[test]
    fn reordering_or_retargeting_changes_what_a_position_carries() {
        let a = ids("{ ctx.activity(a, 1).await; ctx.activity(b, 2).await; }");
        let swapped = ids("{ ctx.activity(b, 2).await; ctx.activity(a, 1).await; }");
        assert_eq!(a[0].1, swapped[1].1, "a call keeps its id when moved");
        assert_ne!(a[0].1, swapped[0].1, "the first position now carries another site");
        let retarget = ids("{ ctx.activity(c, 1).await; ctx.activity(b, 2).await; }");
        assert_ne!(a[0].1, retarget[0].1);
    }

    #[test]
    fn repeated_calls_get_distinct_ids() {
        let a = ids("{ ctx.now(); ctx.now(); ctx.signal::<u8>(\"x\"); ctx.signal::<u8>(\"y\"); }");
        let unique: std::collections::HashSet<_> = a.iter().map(|x| x.1).collect();
        assert_eq!(unique.len(), 4);
    }

    #[test]
    fn ids_depend_on_the_workflow() {
        let mut block: syn::Block = syn::parse_str("{ ctx.now(); }").unwrap();
        let ctx = Ident::new("ctx", Span::call_site());
        let one = rewrite_sites("one", &ctx, &quote!(::continuum), &mut block.clone())[0].id;
        let two = rewrite_sites("two", &ctx, &quote!(::continuum), &mut block)[0].id;
        assert_ne!(one, two);
    }
}
