//! Expansion of `#[workflow]` and `#[activity]`, on `proc_macro2` tokens so
//! it can be unit-tested; `continuum-macros` only forwards to it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitFloat, LitInt, LitStr, Pat, Token};

use crate::check;
use crate::duration::{as_millis_u64, parse_duration};
use crate::hash::version_hash;
use crate::sites::rewrite_sites;

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(retry);
    syn::custom_keyword!(timeout);
    syn::custom_keyword!(idempotency_key);
    syn::custom_keyword!(max_attempts);
    syn::custom_keyword!(initial);
    syn::custom_keyword!(multiplier);
    syn::custom_keyword!(max);
    syn::custom_keyword!(jitter);
    syn::custom_keyword!(strict);
    syn::custom_keyword!(__checked);
}

/// Collects errors so all of them are reported together.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn into_tokens(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }
    fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

/// Arguments of `#[workflow(…)]`.
#[derive(Default)]
struct WorkflowArgs {
    name: Option<LitStr>,
    krate: Option<syn::Path>,
    /// Unmarked helper calls are errors, not warnings.
    strict: bool,
    /// Set by `#[continuum::workflows]`, which checked the body with the
    /// module's imports in view.
    checked: bool,
}

impl Parse for WorkflowArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = WorkflowArgs::default();
        while !input.is_empty() {
            let look = input.lookahead1();
            if look.peek(kw::name) {
                let k: kw::name = input.parse()?;
                input.parse::<Token![=]>()?;
                if args.name.is_some() {
                    return Err(syn::Error::new(k.span, "`name` given twice"));
                }
                args.name = Some(input.parse()?);
            } else if look.peek(Token![crate]) {
                let k: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                if args.krate.is_some() {
                    return Err(syn::Error::new(k.span, "`crate` given twice"));
                }
                args.krate = Some(input.parse()?);
            } else if look.peek(kw::strict) {
                let k: kw::strict = input.parse()?;
                if args.strict {
                    return Err(syn::Error::new(k.span, "`strict` given twice"));
                }
                args.strict = true;
            } else if input.peek(kw::__checked) {
                input.parse::<kw::__checked>()?;
                args.checked = true;
            } else {
                return Err(syn::Error::new(
                    input.span(),
                    "unknown argument; valid: `name = \"…\"`, `crate = path`, `strict`",
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// Arguments of `#[activity(…)]`.
#[derive(Default)]
struct ActivityArgs {
    name: Option<LitStr>,
    krate: Option<syn::Path>,
    retry: Vec<TokenStream>,
    timeout: Option<TokenStream>,
    key: Option<syn::Path>,
}

fn duration_tokens(lit: &LitStr, krate: &TokenStream) -> syn::Result<TokenStream> {
    let d = parse_duration(&lit.value()).map_err(|m| syn::Error::new(lit.span(), m))?;
    let ms = as_millis_u64(d);
    Ok(quote!(#krate::__private::Duration::from_millis(#ms)))
}

impl ActivityArgs {
    fn parse_with(input: ParseStream<'_>, krate_default: &TokenStream) -> syn::Result<Self> {
        let mut args = ActivityArgs::default();
        let mut raw_retry: Option<(Span, TokenStream)> = None;
        let mut raw_timeout: Option<LitStr> = None;
        while !input.is_empty() {
            let look = input.lookahead1();
            if look.peek(kw::name) {
                input.parse::<kw::name>()?;
                input.parse::<Token![=]>()?;
                args.name = Some(input.parse()?);
            } else if look.peek(Token![crate]) {
                input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                args.krate = Some(input.parse()?);
            } else if look.peek(kw::retry) {
                let k: kw::retry = input.parse()?;
                let content;
                syn::parenthesized!(content in input);
                if raw_retry.is_some() {
                    return Err(syn::Error::new(k.span, "`retry` given twice"));
                }
                raw_retry = Some((k.span, content.parse()?));
            } else if look.peek(kw::timeout) {
                input.parse::<kw::timeout>()?;
                input.parse::<Token![=]>()?;
                raw_timeout = Some(input.parse()?);
            } else if look.peek(kw::idempotency_key) {
                input.parse::<kw::idempotency_key>()?;
                input.parse::<Token![=]>()?;
                args.key = Some(input.parse()?);
            } else {
                return Err(syn::Error::new(
                    input.span(),
                    "unknown argument; valid: `retry(…)`, `timeout = \"…\"`, `idempotency_key = path`, `name = \"…\"`, `crate = path`",
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let krate = args.krate.as_ref().map_or_else(|| krate_default.clone(), ToTokens::to_token_stream);
        if let Some(t) = raw_timeout {
            args.timeout = Some(duration_tokens(&t, &krate)?);
        }
        if let Some((_, tokens)) = raw_retry {
            args.retry = syn::parse::Parser::parse2(|p: ParseStream<'_>| parse_retry(p, &krate), tokens)?;
        }
        Ok(args)
    }
}

/// `retry(max_attempts = 5, initial = "1s", multiplier = 2.0, max = "1m", jitter = 0.2)`
/// → field assignments on a `RetryPolicy` named `policy`.
fn parse_retry(input: ParseStream<'_>, krate: &TokenStream) -> syn::Result<Vec<TokenStream>> {
    let mut sets = Vec::new();
    while !input.is_empty() {
        let look = input.lookahead1();
        if look.peek(kw::max_attempts) {
            input.parse::<kw::max_attempts>()?;
            input.parse::<Token![=]>()?;
            let n: LitInt = input.parse()?;
            let v: u32 = n.base10_parse()?;
            if v == 0 {
                return Err(syn::Error::new(
                    n.span(),
                    "`max_attempts` counts the first attempt too; it must be at least 1",
                ));
            }
            sets.push(quote!(policy.max_attempts = #v;));
        } else if look.peek(kw::initial) || look.peek(kw::max) {
            let field: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
            input.parse::<Token![=]>()?;
            let lit: LitStr = input.parse()?;
            let d = duration_tokens(&lit, krate)?;
            sets.push(quote!(policy.#field = #d;));
        } else if look.peek(kw::multiplier) || look.peek(kw::jitter) {
            let field: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
            input.parse::<Token![=]>()?;
            let lit: LitFloat = input.parse()?;
            let v: f64 = lit.base10_parse()?;
            if field == "multiplier" && v < 1.0 {
                return Err(syn::Error::new(lit.span(), "`multiplier` must be at least 1.0"));
            }
            if field == "jitter" && !(0.0..=1.0).contains(&v) {
                return Err(syn::Error::new(lit.span(), "`jitter` is a fraction between 0.0 and 1.0"));
            }
            sets.push(quote!(policy.#field = #v;));
        } else {
            return Err(syn::Error::new(
                input.span(),
                "unknown retry setting; valid: `max_attempts = N`, `initial = \"1s\"`, `multiplier = 2.0`, `max = \"1m\"`, `jitter = 0.2`",
            ));
        }
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(sets)
}

fn default_crate() -> TokenStream {
    quote!(::continuum)
}

/// Splits a fn's `#[doc]` attributes (moved to the generated type) from the
/// rest (kept on the body).
fn split_docs(attrs: &[syn::Attribute]) -> (Vec<&syn::Attribute>, Vec<&syn::Attribute>) {
    attrs.iter().partition(|a| a.path().is_ident("doc"))
}

fn typed_param(arg: &FnArg) -> Option<(&Pat, &syn::Type)> {
    match arg {
        FnArg::Typed(t) => Some((&t.pat, &t.ty)),
        FnArg::Receiver(_) => None,
    }
}

fn check_signature(item: &ItemFn, what: &str, errors: &mut Errors) {
    if item.sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(item.sig.fn_token, format!("#[{what}] needs an `async fn`")));
    }
    if !item.sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&item.sig.generics, format!("#[{what}] functions cannot be generic")));
    }
    if let syn::ReturnType::Default = item.sig.output {
        errors.push(syn::Error::new_spanned(
            &item.sig,
            format!("#[{what}] functions must return `Result<Output, Error>`"),
        ));
    }
}

/// The version hash of a workflow: its registered name, signature and
/// body — not its Rust name, attributes or visibility. An old body kept
/// compiled under another Rust name (`#[workflow(name = "…")]`) keeps the
/// hash it had, so runs started on it still find it.
pub fn workflow_version(item_fn: &ItemFn, name: &str) -> [u8; 32] {
    let sig = &item_fn.sig;
    let name = LitStr::new(name, sig.ident.span());
    let (asyncness, generics, inputs, output, block) =
        (&sig.asyncness, &sig.generics, &sig.inputs, &sig.output, &item_fn.block);
    let where_clause = &generics.where_clause;
    version_hash(quote!(#name #asyncness fn #generics (#inputs) #output #where_clause #block)).0
}

/// Expands `#[workflow]`. Always re-emits the function's item so the IDE
/// keeps completing, with every error appended.
pub fn workflow(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        // Mid-typing: hand the tokens back untouched.
        Err(e) => {
            let mut out = item;
            out.extend(e.to_compile_error());
            return out;
        }
    };
    let mut errors = Errors::default();
    let args = match syn::parse2::<WorkflowArgs>(attr) {
        Ok(a) => a,
        Err(e) => {
            errors.push(e);
            WorkflowArgs::default()
        }
    };
    let krate = args.krate.as_ref().map_or_else(default_crate, ToTokens::to_token_stream);
    check_signature(&item_fn, "workflow", &mut errors);
    let params: Vec<_> = item_fn.sig.inputs.iter().collect();
    let ctx_ident = match params.first().and_then(|p| typed_param(p)) {
        Some((Pat::Ident(p), _)) => Some(p.ident.clone()),
        Some((pat, _)) => {
            errors.push(syn::Error::new_spanned(
                pat,
                "the first parameter must be a plain name, e.g. `ctx: &WorkflowContext`",
            ));
            None
        }
        None => {
            errors.push(syn::Error::new_spanned(
                &item_fn.sig,
                "a workflow's first parameter is the context: `ctx: &WorkflowContext`",
            ));
            None
        }
    };
    if params.len() > 2 {
        errors.push(syn::Error::new_spanned(
            params[2],
            "a workflow takes one input after the context; group several values in a struct or tuple",
        ));
    }
    let (input_pat, input_ty) = match params.get(1).and_then(|p| typed_param(p)) {
        Some((p, t)) => (p.to_token_stream(), t.to_token_stream()),
        None => (quote!(_), quote!(())),
    };
    if !errors.is_empty() && !args.checked {
        // Report the body's problems alongside the signature's.
        if let Some(e) = check::check_fn(&item_fn, &check::Scope::default(), ctx_ident.as_ref()).error() {
            errors.push(e);
        }
    }
    let (Some(ctx_ident), true) = (ctx_ident, errors.is_empty()) else {
        let errs = errors.into_tokens();
        return quote!(#item_fn #errs);
    };

    let fn_name = &item_fn.sig.ident;
    let name = args.name.map_or_else(|| fn_name.to_string(), |n| n.value());
    let version = workflow_version(&item_fn, &name);
    let determinism = if args.checked {
        TokenStream::new()
    } else {
        let report = check::check_fn(&item_fn, &check::Scope::default(), Some(&ctx_ident));
        let errors = report.error().map(|e| e.to_compile_error()).unwrap_or_default();
        let probes = check::helper_probes(&report.helpers, args.strict);
        quote!(#errors #probes)
    };
    let mut block = (*item_fn.block).clone();
    check::quiet_logs_on_replay(&mut block, &krate);
    let sites = rewrite_sites(&name, &ctx_ident, &krate, &mut block);
    let site_infos = sites.iter().map(|s| s.info_tokens(&krate));
    let vis = &item_fn.vis;
    let (docs, other_attrs) = split_docs(&item_fn.attrs);
    let output = match &item_fn.sig.output {
        syn::ReturnType::Type(_, t) => t.to_token_stream(),
        syn::ReturnType::Default => quote!(()),
    };
    let ctx_ty = params.first().and_then(|p| typed_param(p)).map(|(_, t)| t.to_token_stream()).unwrap_or_default();
    let body_fn = format_ident!("__continuum_body");
    let ret_span = item_fn.sig.output.span();
    let call = quote_spanned!(ret_span=> #fn_name::#body_fn(&ctx, input).await);
    let errs = errors.into_tokens();
    quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #fn_name {}

        #(#docs)*
        ///
        /// A workflow: pass it by name to `Runtime::start` or register it
        /// with the runtime builder.
        #[allow(dead_code)]
        #vis fn #fn_name(_: #krate::__private::Marker) -> #fn_name {
            #fn_name {}
        }

        impl #fn_name {
            #[doc(hidden)]
            #(#other_attrs)*
            #vis async fn #body_fn(#ctx_ident: #ctx_ty, #input_pat: #input_ty) -> #output #block
        }

        impl #krate::__private::Workflow for #fn_name {
            type Input = #input_ty;
            type Output = <#output as #krate::__private::WorkflowResult>::Output;
            type Error = <#output as #krate::__private::WorkflowResult>::Error;
            const NAME: &'static str = #name;
            const VERSION: #krate::__private::VersionHash = #krate::__private::VersionHash([#(#version),*]);
            const SITES: &'static [#krate::__private::SiteInfo] = &[#(#site_infos),*];

            fn run(
                ctx: #krate::__private::WorkflowContext,
                input: Self::Input,
            ) -> #krate::__private::BoxFuture<'static, #output> {
                ::std::boxed::Box::pin(async move { #call })
            }
        }
        #errs
        #determinism
    }
}

/// Expands `#[activity]`. Always re-emits the function's item.
pub fn activity(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let mut out = item;
            out.extend(e.to_compile_error());
            return out;
        }
    };
    let mut errors = Errors::default();
    let default = default_crate();
    let args = match syn::parse::Parser::parse2(|p: ParseStream<'_>| ActivityArgs::parse_with(p, &default), attr) {
        Ok(a) => a,
        Err(e) => {
            errors.push(e);
            ActivityArgs::default()
        }
    };
    let krate = args.krate.as_ref().map_or_else(default_crate, ToTokens::to_token_stream);
    check_signature(&item_fn, "activity", &mut errors);
    let params: Vec<_> = item_fn.sig.inputs.iter().collect();
    if params.len() > 1 {
        errors.push(syn::Error::new_spanned(
            params[1],
            "an activity takes one input; group several values in a struct or tuple",
        ));
    }
    let input = params.first().and_then(|p| typed_param(p));
    if !params.is_empty() && input.is_none() {
        errors.push(syn::Error::new_spanned(params[0], "activities are free functions; `self` is not allowed"));
    }
    if !errors.is_empty() {
        let errs = errors.into_tokens();
        return quote!(#item_fn #errs);
    }
    let fn_name = &item_fn.sig.ident;
    let name = args.name.map_or_else(|| fn_name.to_string(), |n| n.value());
    let vis = &item_fn.vis;
    let (docs, other_attrs) = split_docs(&item_fn.attrs);
    let output = match &item_fn.sig.output {
        syn::ReturnType::Type(_, t) => t.to_token_stream(),
        syn::ReturnType::Default => quote!(()),
    };
    let block = &item_fn.block;
    let (params_decl, input_ty, call_args) = match input {
        Some((pat, ty)) => (quote!(#pat: #ty), ty.to_token_stream(), quote!(input)),
        None => (quote!(), quote!(()), quote!()),
    };
    let retry = &args.retry;
    let timeout = args.timeout.as_ref().map(|t| quote!(options.timeout = ::core::option::Option::Some(#t);));
    let key = args.key.as_ref().map(|k| {
        quote! {
            fn idempotency_key(input: &Self::Input) -> ::core::option::Option<::std::string::String> {
                ::core::option::Option::Some(::std::string::ToString::to_string(&#k(input)))
            }
        }
    });
    let ignore_input = if input.is_none() { quote!(let () = input;) } else { quote!() };
    quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #fn_name {}

        #(#docs)*
        ///
        /// An activity: pass it by name to `ctx.activity` and to the
        /// runtime builder; call its body directly with `call`.
        #[allow(dead_code)]
        #vis fn #fn_name(_: #krate::__private::Marker) -> #fn_name {
            #fn_name {}
        }

        impl #fn_name {
            /// Runs the activity's body directly, outside any workflow (for
            /// tests and reuse). Workflows call it through `ctx.activity`.
            #(#other_attrs)*
            #vis async fn call(#params_decl) -> #output #block
        }

        impl #krate::__private::Activity for #fn_name {
            type Input = #input_ty;
            type Output = <#output as #krate::__private::ActivityResult>::Output;
            const NAME: &'static str = #name;

            fn options() -> #krate::__private::ActivityOptions {
                let mut options = #krate::__private::ActivityOptions::default();
                let mut policy = options.retry;
                #(#retry)*
                options.retry = policy;
                #timeout
                options
            }

            #key

            fn run(input: Self::Input) -> #krate::__private::BoxFuture<'static, ::core::result::Result<Self::Output, #krate::__private::ActivityError>> {
                #ignore_input
                ::std::boxed::Box::pin(async move {
                    #krate::__private::ActivityResult::into_result(#fn_name::call(#call_args).await)
                })
            }
        }
    }
}

/// Expands `#[pure]` on a helper `fn` or an inline `mod`: checks every
/// function with the determinism rules and leaves a marker that tells
/// `#[workflow]`'s helper probes the function is trusted.
pub fn pure(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !attr.is_empty() {
        errors.push(syn::Error::new_spanned(&attr, "`#[pure]` takes no arguments"));
    }
    let krate = default_crate();
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(mut f)) => {
            let report = check::check_fn(&f, &check::Scope::default(), None);
            if let Some(e) = report.error() {
                errors.push(e);
            }
            let probes = check::helper_probes(&report.helpers, false);
            check::quiet_logs_on_replay(&mut f.block, &krate);
            let marker = check::pure_marker(&f.vis, &f.sig.ident);
            let errs = errors.into_tokens();
            quote!(#f #marker #probes #errs)
        }
        Ok(syn::Item::Mod(mut m)) => {
            let Some((_, items)) = &mut m.content else {
                errors.push(syn::Error::new_spanned(
                    &m,
                    "`#[pure]` needs an inline module (`mod helpers { … }`) to see its functions",
                ));
                let errs = errors.into_tokens();
                return quote!(#m #errs);
            };
            let scope = check::module_scope(items);
            let mut extra = Vec::new();
            for item in items.iter_mut() {
                if let syn::Item::Fn(f) = item {
                    let report = check::check_fn(f, &scope, None);
                    if let Some(e) = report.error() {
                        errors.push(e);
                    }
                    extra.push(check::helper_probes(&report.helpers, false));
                    check::quiet_logs_on_replay(&mut f.block, &krate);
                    extra.push(check::pure_marker(&f.vis, &f.sig.ident));
                }
            }
            for tokens in extra {
                items.push(syn::Item::Verbatim(tokens));
            }
            let errs = errors.into_tokens();
            quote!(#m #errs)
        }
        Ok(other) => {
            errors.push(syn::Error::new_spanned(&other, "`#[pure]` goes on a helper `fn` or an inline `mod`"));
            let errs = errors.into_tokens();
            quote!(#other #errs)
        }
        // Mid-typing: hand the tokens back untouched.
        Err(e) => {
            let mut out = item;
            out.extend(e.to_compile_error());
            out
        }
    }
}

fn is_workflow_attr(attr: &syn::Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "workflow")
}

/// Expands `#[continuum::workflows]` on an inline module: checks each
/// `#[workflow]` in it with the module's own `use` items and declarations
/// in view (so `use chrono::Utc as Clock;` at module level is resolved),
/// then hands each workflow to `#[workflow]` marked as checked.
pub fn workflows(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !attr.is_empty() {
        errors.push(syn::Error::new_spanned(&attr, "`#[workflows]` takes no arguments"));
    }
    let mut m = match syn::parse2::<syn::ItemMod>(item.clone()) {
        Ok(m) => m,
        Err(e) => {
            let mut out = item;
            out.extend(e.to_compile_error());
            return out;
        }
    };
    let Some((_, items)) = &mut m.content else {
        errors.push(syn::Error::new_spanned(&m, "`#[workflows]` needs an inline module (`mod orders { … }`)"));
        let errs = errors.into_tokens();
        return quote!(#m #errs);
    };
    let scope = check::module_scope(items);
    let mut probes = Vec::new();
    for item in items.iter_mut() {
        let syn::Item::Fn(f) = item else { continue };
        let Some(index) = f.attrs.iter().position(is_workflow_attr) else { continue };
        let args = match &f.attrs[index].meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(l) => l.tokens.clone(),
            syn::Meta::NameValue(_) => continue,
        };
        let strict = args.clone().into_iter().any(|t| t.to_string() == "strict");
        let ctx = f.sig.inputs.first().and_then(typed_param).and_then(|(p, _)| match p {
            Pat::Ident(p) => Some(p.ident.clone()),
            _ => None,
        });
        let report = check::check_fn(f, &scope, ctx.as_ref());
        if let Some(e) = report.error() {
            errors.push(e);
        }
        probes.push(check::helper_probes(&report.helpers, strict));
        let path = f.attrs[index].path().clone();
        let args = if args.is_empty() { quote!(__checked) } else { quote!(#args, __checked) };
        f.attrs[index] = syn::parse_quote!(#[#path(#args)]);
    }
    for tokens in probes {
        items.push(syn::Item::Verbatim(tokens));
    }
    let errs = errors.into_tokens();
    quote!(#m #errs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_workflow(attr: TokenStream, item: TokenStream) -> String {
        workflow(attr, item).to_string()
    }

    #[test]
    fn an_old_body_kept_under_another_name_keeps_its_version() {
        let original: ItemFn = syn::parse_quote! {
            async fn fulfil(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
                Ok(ctx.activity(charge, n).await?)
            }
        };
        let kept: ItemFn = syn::parse_quote! {
            #[allow(dead_code)]
            pub async fn fulfil_v1(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
                Ok(ctx.activity(charge, n).await?)
            }
        };
        let changed: ItemFn = syn::parse_quote! {
            async fn fulfil(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
                Ok(ctx.activity(charge, n + 1).await?)
            }
        };
        let v = workflow_version(&original, "fulfil");
        assert_eq!(workflow_version(&kept, "fulfil"), v, "the Rust name, attributes and visibility do not count");
        assert_ne!(workflow_version(&kept, "other"), v, "the registered name does");
        assert_ne!(workflow_version(&changed, "fulfil"), v, "the body does");
    }

    #[test]
    fn workflow_generates_type_body_and_sites() {
        let out = expand_workflow(
            quote!(),
            quote! {
                /// Docs move to the type.
                pub async fn place(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
                    let x = ctx.activity(double, n).await?;
                    ctx.sleep(d).await;
                    Ok(x)
                }
            },
        );
        assert!(out.contains("pub struct place { }"), "{out}");
        assert!(out.contains("pub fn place (_ : :: continuum :: __private :: Marker) -> place"), "{out}");
        assert!(out.contains("const NAME : & 'static str = \"place\""), "{out}");
        assert!(out.contains("ctx . __at"), "{out}");
        assert_eq!(out.matches("site_info").count(), 4, "two sites, each in the body and the table: {out}");
    }

    #[test]
    fn unknown_workflow_argument_is_a_spanned_error_and_the_item_is_kept() {
        let out = expand_workflow(
            quote!(version = 2),
            quote!(
                async fn wf(ctx: &C) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("valid: `name"), "{out}");
        assert!(out.contains("async fn wf"), "{out}");
    }

    #[test]
    fn unparsable_body_is_reemitted_unchanged() {
        let item: TokenStream = "async fn wf(ctx: &C) -> Result<(), E> { let x = ; }".parse().unwrap();
        let out = workflow(quote!(), item.clone()).to_string();
        assert!(out.contains("async fn wf"), "{out}");
    }

    #[test]
    fn non_async_workflow_is_rejected() {
        let out = expand_workflow(
            quote!(),
            quote!(
                fn wf(ctx: &C) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("needs an `async fn`"), "{out}");
    }

    #[test]
    fn activity_parses_retry_and_timeout() {
        let out = activity(
            quote!(retry(max_attempts = 5, initial = "1s", multiplier = 2.0, max = "1m"), timeout = "30s"),
            quote!(
                async fn charge(o: Order) -> Result<Receipt, ActivityError> {
                    todo()
                }
            ),
        )
        .to_string();
        assert!(out.contains("policy . max_attempts = 5u32"), "{out}");
        assert!(out.contains("from_millis (30000u64)"), "{out}");
        assert!(out.contains("from_millis (60000u64)"), "{out}");
    }

    #[test]
    fn activity_rejects_bad_durations_and_unknown_settings() {
        let out = activity(
            quote!(timeout = "soon"),
            quote!(
                async fn a() -> Result<(), E> {
                    Ok(())
                }
            ),
        )
        .to_string();
        assert!(out.contains("is not a duration"), "{out}");
        let out = activity(
            quote!(retry(attempts = 3)),
            quote!(
                async fn a() -> Result<(), E> {
                    Ok(())
                }
            ),
        )
        .to_string();
        assert!(out.contains("unknown retry setting"), "{out}");
        let out = activity(
            quote!(retry(max_attempts = 0)),
            quote!(
                async fn a() -> Result<(), E> {
                    Ok(())
                }
            ),
        )
        .to_string();
        assert!(out.contains("at least 1"), "{out}");
    }
}
