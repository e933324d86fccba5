//! The span-free version hash of a workflow, and effect-site ids.
//!
//! # Why the hash is span-free
//!
//! A workflow's version hash is recorded with every run, and a run resumes
//! on the registered version with that hash (the engine leaves it to a
//! process that has it, or, when no live process does, replays it on the
//! current version and suspends it if that drifts — see
//! `docs/versioning.md`). That is only useful if the hash moves when the
//! *behaviour* may have changed and stays put otherwise. Reformatting a
//! file, editing an ordinary comment or rewording a doc comment must not
//! make every in-flight run look like another version's.
//!
//! So the hash is computed from a structural walk of the token tree, never
//! from source text and never from `TokenStream::to_string()`:
//!
//! - whitespace, line breaks and ordinary comments never appear in a token
//!   stream, so they cannot move the hash;
//! - spans (file, line, column) are never looked at;
//! - doc comments (`///`, `//!`, `/** */`, `/*! */`) reach a token stream as
//!   `#[doc = "…"]` / `#![doc = "…"]` attributes, and every attribute whose
//!   bracket group starts with the ident `doc` is skipped entirely;
//! - literals are hashed by their *value* (`"a\x62"`, `"ab"` and `r"ab"` hash
//!   equal; `0x10` and `16` too), each kind with its own tag so `1` and `"1"`
//!   differ;
//! - `to_string()` is avoided because its spacing between tokens is not
//!   promised stable across compiler or `proc-macro2` versions.
//!
//! # What it covers
//!
//! Every ident (raw idents keep their `r#` prefix), every operator, every
//! group delimiter and nesting, every literal value and suffix, and every
//! non-doc attribute. Any change to those moves the hash.
//!
//! Punctuation is hashed as the operators rustc's lexer would see: a run of
//! joint punctuation is glued and split longest-operator-first. Whitespace
//! between punctuation therefore never moves the hash (`x:&T` and `x: &T`
//! hash equal) unless it changes the tokens themselves (`a && b` is one
//! `&&` operator, `a & &b` two `&`).
//!
//! The walk is iterative (an explicit stack), so a deeply nested input cannot
//! overflow the compiler's stack while the macro expands.

use proc_macro2::{Delimiter, Group, Literal, Spacing, TokenStream, TokenTree};

/// blake3 derive-key context for [`version_hash`]. Changing it changes every
/// version hash ever recorded.
const VERSION_HASH_CONTEXT: &str = "continuum 2026-11-23 workflow version hash v1";

/// blake3 derive-key context for [`site_id`]. Changing it changes every site
/// id ever recorded.
const SITE_ID_CONTEXT: &str = "continuum 2026-11-23 effect site id v1";

/// One-byte tags written before each token in the version-hash walk.
mod tag {
    pub(super) const IDENT: u8 = 1;
    pub(super) const PUNCT: u8 = 2;
    pub(super) const GROUP_OPEN: u8 = 3;
    pub(super) const GROUP_CLOSE: u8 = 4;
    pub(super) const LITERAL: u8 = 5;
}

/// Delimiter bytes written after [`tag::GROUP_OPEN`].
mod delim {
    pub(super) const NONE: u8 = 0;
    pub(super) const PAREN: u8 = 1;
    pub(super) const BRACE: u8 = 2;
    pub(super) const BRACKET: u8 = 3;
}

/// Kind bytes that open the normalized form of a literal.
mod lit_kind {
    pub(super) const STR: u8 = 1;
    pub(super) const BYTE_STR: u8 = 2;
    pub(super) const C_STR: u8 = 3;
    pub(super) const BYTE: u8 = 4;
    pub(super) const CHAR: u8 = 5;
    pub(super) const INT: u8 = 6;
    pub(super) const FLOAT: u8 = 7;
    pub(super) const BOOL: u8 = 8;
    pub(super) const VERBATIM: u8 = 9;
}

/// The version hash of a workflow: 32 bytes of blake3 output.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct VersionHash(pub [u8; 32]);

impl VersionHash {
    /// The full hash as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The first 16 hex characters (8 bytes), for logs and error messages.
    pub fn short(&self) -> String {
        hex(&self.0[..8])
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Writes `bytes` prefixed with their length as a little-endian `u32`.
fn write_len_prefixed(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    // Nothing fed to the hash comes near 4 GiB; saturate rather than panic.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(&len.to_le_bytes());
    hasher.update(bytes);
}

/// Appends `bytes` to `buf` prefixed with their length as a little-endian `u32`.
fn push_len_prefixed(buf: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// Computes the span-free version hash of a workflow's tokens.
///
/// See the [module docs](self) for what the hash covers and why.
pub fn version_hash(tokens: TokenStream) -> VersionHash {
    let mut hasher = blake3::Hasher::new_derive_key(VERSION_HASH_CONTEXT);

    // An explicit stack of token lists instead of recursion, so nesting depth
    // is bounded by the heap, not by the compiler's stack.
    let mut stack: Vec<(Vec<TokenTree>, usize, Delimiter)> = vec![(tokens.into_iter().collect(), 0, Delimiter::None)];
    while let Some((frame, pos, delimiter)) = stack.last_mut() {
        let delimiter = *delimiter;
        let Some(token) = frame.get(*pos) else {
            stack.pop();
            if !stack.is_empty() {
                hasher.update(&[tag::GROUP_CLOSE]);
            }
            continue;
        };
        if let Some(skip) = doc_attr_len(frame, *pos) {
            *pos += skip;
            continue;
        }
        if is_layout_comma(frame, *pos, delimiter) {
            *pos += 1;
            continue;
        }
        *pos += 1;
        match token {
            TokenTree::Ident(ident) => {
                hasher.update(&[tag::IDENT]);
                write_len_prefixed(&mut hasher, ident.to_string().as_bytes());
            }
            TokenTree::Punct(first) => {
                // Glue a run of joint puncts, then split it the way rustc's
                // lexer does (longest operator first): `x:&T` and `x: &T`
                // give `:` `&` either way, while `a && b` and `a & &b` stay
                // different (`&&` is one token, `& &` two).
                let mut glued = String::from(first.as_char());
                let mut joint = first.spacing() == Spacing::Joint;
                while joint {
                    match frame.get(*pos) {
                        Some(TokenTree::Punct(next)) => {
                            glued.push(next.as_char());
                            joint = next.spacing() == Spacing::Joint;
                            *pos += 1;
                        }
                        _ => break,
                    }
                }
                for op in split_operators(&glued) {
                    hasher.update(&[tag::PUNCT]);
                    write_len_prefixed(&mut hasher, op.as_bytes());
                }
            }
            TokenTree::Literal(literal) => {
                hasher.update(&[tag::LITERAL]);
                write_len_prefixed(&mut hasher, &normalize_literal(literal));
            }
            TokenTree::Group(group) => {
                hasher.update(&[tag::GROUP_OPEN, delimiter_byte(group.delimiter())]);
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                let inner_delimiter = group.delimiter();
                stack.push((inner, 0, inner_delimiter));
            }
        }
    }

    VersionHash(*hasher.finalize().as_bytes())
}

/// Whether the comma at `tokens[pos]` is one rustfmt adds or removes
/// without changing the program: a trailing comma in a list of two or more
/// items (`f(a, b,)`, `[a,]`, `S { a, }`), or the comma after a block arm of
/// a `match` (`X => {},`). A trailing comma that makes a one-element tuple,
/// `(a,)`, is meaningful and kept.
fn is_layout_comma(tokens: &[TokenTree], pos: usize, delimiter: Delimiter) -> bool {
    let is_comma = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ',');
    if !is_comma(tokens.get(pos)) {
        return false;
    }
    let trailing = pos + 1 == tokens.len();
    match delimiter {
        Delimiter::Brace => {
            trailing
                || matches!(pos.checked_sub(1).and_then(|p| tokens.get(p)), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace)
        }
        Delimiter::Bracket => trailing,
        Delimiter::Parenthesis => trailing && tokens[..pos].iter().any(|t| is_comma(Some(t))),
        Delimiter::None => false,
    }
}

/// Rust's multi-character operators, longest first.
const OPERATORS: &[&str] = &[
    "<<=", ">>=", "...", "..=", "::", "->", "=>", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "%=",
    "^=", "&=", "|=", "<<", ">>", "..",
];

/// Splits glued punctuation into operators by maximal munch.
fn split_operators(glued: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = glued;
    while let Some(c) = rest.chars().next() {
        let len = OPERATORS.iter().find(|op| rest.starts_with(**op)).map_or(c.len_utf8(), |op| op.len());
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

fn delimiter_byte(delimiter: Delimiter) -> u8 {
    match delimiter {
        Delimiter::Parenthesis => delim::PAREN,
        Delimiter::Brace => delim::BRACE,
        Delimiter::Bracket => delim::BRACKET,
        Delimiter::None => delim::NONE,
    }
}

/// If a doc attribute starts at `tokens[pos]`, returns how many tokens it
/// spans: 2 for `#[doc …]`, 3 for `#![doc …]`.
fn doc_attr_len(tokens: &[TokenTree], pos: usize) -> Option<usize> {
    match tokens.get(pos) {
        Some(TokenTree::Punct(p)) if p.as_char() == '#' => {}
        _ => return None,
    }
    match tokens.get(pos + 1) {
        Some(TokenTree::Group(g)) if is_doc_group(g) => Some(2),
        Some(TokenTree::Punct(p)) if p.as_char() == '!' => match tokens.get(pos + 2) {
            Some(TokenTree::Group(g)) if is_doc_group(g) => Some(3),
            _ => None,
        },
        _ => None,
    }
}

/// A bracket group whose first token is the ident `doc`.
fn is_doc_group(group: &Group) -> bool {
    group.delimiter() == Delimiter::Bracket
        && matches!(
            group.stream().into_iter().next(),
            Some(TokenTree::Ident(ident)) if ident == "doc"
        )
}

/// The normalized, kind-tagged form of a literal: its value, not its
/// spelling, so escapes and raw-string syntax do not move the hash.
fn normalize_literal(literal: &Literal) -> Vec<u8> {
    let mut out = Vec::new();
    match syn::Lit::new(literal.clone()) {
        syn::Lit::Str(lit) => {
            out.push(lit_kind::STR);
            push_len_prefixed(&mut out, lit.value().as_bytes());
            push_len_prefixed(&mut out, lit.suffix().as_bytes());
        }
        syn::Lit::ByteStr(lit) => {
            out.push(lit_kind::BYTE_STR);
            push_len_prefixed(&mut out, &lit.value());
            push_len_prefixed(&mut out, lit.suffix().as_bytes());
        }
        syn::Lit::CStr(lit) => {
            out.push(lit_kind::C_STR);
            push_len_prefixed(&mut out, lit.value().as_bytes());
            push_len_prefixed(&mut out, lit.suffix().as_bytes());
        }
        syn::Lit::Byte(lit) => {
            out.push(lit_kind::BYTE);
            out.push(lit.value());
            push_len_prefixed(&mut out, lit.suffix().as_bytes());
        }
        syn::Lit::Char(lit) => {
            out.push(lit_kind::CHAR);
            out.extend_from_slice(&u32::from(lit.value()).to_le_bytes());
            push_len_prefixed(&mut out, lit.suffix().as_bytes());
        }
        syn::Lit::Int(lit) => {
            out.push(lit_kind::INT);
            push_len_prefixed(&mut out, lit.base10_digits().as_bytes());
            push_len_prefixed(&mut out, lit.suffix().as_bytes());
        }
        syn::Lit::Float(lit) => {
            out.push(lit_kind::FLOAT);
            push_len_prefixed(&mut out, lit.base10_digits().as_bytes());
            push_len_prefixed(&mut out, lit.suffix().as_bytes());
        }
        syn::Lit::Bool(lit) => {
            out.push(lit_kind::BOOL);
            out.push(u8::from(lit.value));
        }
        // `Lit::Verbatim` and any kind added to syn later: the spelling.
        _ => {
            out.push(lit_kind::VERBATIM);
            push_len_prefixed(&mut out, literal.to_string().as_bytes());
        }
    }
    out
}

/// The id of one effect site: the `index`-th call with `key` in `workflow`.
///
/// blake3 (derive-key mode) over the length-prefixed workflow name, the
/// length-prefixed key and the index, truncated to the first 8 bytes read as
/// a little-endian `u64`. Never 0: 0 is reserved for "no site", so a hash of
/// 0 maps to 1.
pub fn site_id(workflow: &str, key: &str, index: u32) -> u64 {
    let mut hasher = blake3::Hasher::new_derive_key(SITE_ID_CONTEXT);
    write_len_prefixed(&mut hasher, workflow.as_bytes());
    write_len_prefixed(&mut hasher, key.as_bytes());
    hasher.update(&index.to_le_bytes());
    let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = *hasher.finalize().as_bytes();
    match u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]) {
        0 => 1,
        id => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use quote::quote;

    fn h(src: &str) -> VersionHash {
        version_hash(src.parse::<TokenStream>().unwrap())
    }

    // ---- golden values -------------------------------------------------

    #[test]
    fn golden_small_workflow() {
        let tokens = quote! {
            async fn wf(ctx: &WorkflowContext, n: u32) -> Result<u32, E> {
                let x = ctx.activity(a, n).await?;
                Ok(x + 1)
            }
        };
        assert_eq!(version_hash(tokens).to_hex(), "d08911327c724050d6779f98dd0a9bd13bb4c7f008e052a2d1ff7d1929da54a6");
    }

    #[test]
    fn golden_empty() {
        assert_eq!(
            version_hash(TokenStream::new()).to_hex(),
            "81ed4615a8f362837c42c70726e40080b1f716161222ec5c4047a1f191351c44"
        );
    }

    #[test]
    fn golden_literals() {
        let tokens = quote! {
            fn lits() {
                let s = "hello\nworld";
                let c = 'x';
                let f = 2.5f64;
                let b = b"bytes";
                let i = 0xFFu8;
            }
        };
        assert_eq!(version_hash(tokens).to_hex(), "5ea05c548b685e6cfee32f48a484ef073d96428519c8c2c0dd610d098c7bc887");
    }

    #[test]
    fn encoding_matches_the_spec() {
        // `#[doc = "d"] a += r"s" ('c')` written out byte by byte.
        let mut expected = Vec::new();
        let lp = |buf: &mut Vec<u8>, bytes: &[u8]| {
            buf.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
            buf.extend_from_slice(bytes);
        };
        expected.push(1); // ident `a`
        lp(&mut expected, b"a");
        expected.push(2); // operator `+=` (a glued run of joint puncts)
        lp(&mut expected, b"+=");
        expected.push(5); // literal r"s": kind 1, value, empty suffix
        let mut lit = vec![1];
        lp(&mut lit, b"s");
        lp(&mut lit, b"");
        lp(&mut expected, &lit);
        expected.extend_from_slice(&[3, 1]); // open paren
        expected.push(5); // literal 'c': kind 5, u32 LE, empty suffix
        let mut lit = vec![5];
        lit.extend_from_slice(&u32::from('c').to_le_bytes());
        lp(&mut lit, b"");
        lp(&mut expected, &lit);
        expected.push(4); // close

        let mut hasher = blake3::Hasher::new_derive_key(VERSION_HASH_CONTEXT);
        hasher.update(&expected);
        let want = VersionHash(*hasher.finalize().as_bytes());
        assert_eq!(h(r#"#[doc = "d"] a += r"s" ('c')"#), want);
    }

    #[test]
    fn site_id_encoding_matches_the_spec() {
        let mut hasher = blake3::Hasher::new_derive_key(SITE_ID_CONTEXT);
        hasher.update(&2u32.to_le_bytes());
        hasher.update(b"wf");
        hasher.update(&3u32.to_le_bytes());
        hasher.update(b"key");
        hasher.update(&7u32.to_le_bytes());
        let bytes = hasher.finalize();
        let want = u64::from_le_bytes(bytes.as_bytes()[..8].try_into().unwrap());
        assert_eq!(site_id("wf", "key", 7), want);
    }

    #[test]
    fn rustfmt_trailing_commas_do_not_move_the_hash() {
        assert_eq!(h("fn f(a: u8, b: u8) {}"), h("fn f(\n    a: u8,\n    b: u8,\n) {}"));
        assert_eq!(h("let v = [1, 2];"), h("let v = [1, 2,];"));
        assert_eq!(h("S { a, b }"), h("S { a, b, }"));
        assert_eq!(h("match x { A => {}, B => 1 }"), h("match x { A => {} B => 1, }"));
        assert_ne!(h("let t = (a,);"), h("let t = (a);"), "a one-element tuple is not a parenthesized value");
        assert_ne!(h("f(a, b)"), h("f(a b)"));
    }

    #[test]
    fn punct_spacing_only_matters_where_it_changes_the_operators() {
        // quote! marks a lone `?` `Alone` even when `;` follows; the source
        // parser marks it `Joint`. Both split to `?` `;`.
        assert_eq!(version_hash(quote! { x?; }), h("x?;"));
        assert_eq!(h("x?;"), h("x? ;"));
        assert_eq!(h("fn f(x:&T) {}"), h("fn f(x: &T) {}"));
        assert_eq!(h("a..=b"), h("a ..= b"));
        assert_ne!(h("a && b"), h("a & &b"));
        assert_ne!(h("a..=b"), h("a.. =b"));
        assert_eq!(split_operators("<<=>>"), ["<<=", ">>"]);
        assert_eq!(split_operators(":&"), [":", "&"]);
    }

    #[test]
    fn hex_and_short() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i * 8 + 1).unwrap();
        }
        let hash = VersionHash(bytes);
        let hex = hash.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(hex.starts_with("0109111921293139"));
        assert!(hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(hash.short(), "0109111921293139");
        assert_eq!(hash.short(), hex[..16]);
    }

    // ---- invariance ----------------------------------------------------

    const COMPACT: &str = "async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let x=ctx.activity(a,n).await?;let y=ctx.activity(b,x).await?;Ok(x+y)}";

    #[test]
    fn whitespace_comments_and_docs_do_not_move_the_hash() {
        let spread = r#"
            /// The workflow.
            ///
            /// More words about it.
            #[doc = "and an explicit doc attribute"]
            /** a block doc comment */
            async fn wf(
                ctx: &WorkflowContext, // the context
                n: u32 /* how many */
            ) -> Result<u32, E> {
                //! An inner doc comment.
                /*! An inner block doc comment. */
                #![doc = "an explicit inner doc attribute"]
                // First call.
                let x = ctx
                    .activity(a, n) /* block
                                       comment */
                    .await?;
                let y = ctx.activity(b, x)
                    .await?;

                // Done.
                Ok(x + y)
            }
        "#;
        assert_eq!(h(COMPACT), h(spread));
    }

    #[test]
    fn literal_spelling_does_not_move_the_hash() {
        assert_eq!(h(r#""a\x62""#), h(r#""ab""#));
        assert_eq!(h(r#""ab""#), h(r#"r"ab""#));
        assert_eq!(h(r#""ab""#), h(r##"r#"ab"#"##));
        assert_eq!(h(r#"b"a\x62""#), h(r#"br"ab""#));
        assert_eq!(h(r"'\x61'"), h("'a'"));
        assert_eq!(h("0x10"), h("16"));
        assert_eq!(h("1_000u32"), h("1000u32"));
    }

    #[test]
    fn literal_kinds_are_distinguished() {
        let all =
            [h("1"), h(r#""1""#), h("'1'"), h("1.0"), h("1u32"), h("1i64"), h(r#"b"1""#), h("b'1'"), h(r#"c"1""#)];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_ne!(h(r#""ab""#), h(r#"b"ab""#));
    }

    // ---- any token change moves it ------------------------------------

    #[test]
    fn token_changes_move_the_hash() {
        let base = h(COMPACT);
        let variants = [
            // Renamed ident.
            "async fn wf(ctx: &WorkflowContext,m: u32)->Result<u32,E>{let x=ctx.activity(a,m).await?;let y=ctx.activity(b,x).await?;Ok(x+y)}",
            // Renamed workflow.
            "async fn wf2(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let x=ctx.activity(a,n).await?;let y=ctx.activity(b,x).await?;Ok(x+y)}",
            // Changed literal (added one).
            "async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let x=ctx.activity(a,n).await?;let y=ctx.activity(b,x).await?;Ok(x+y+1)}",
            // Changed operator.
            "async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let x=ctx.activity(a,n).await?;let y=ctx.activity(b,x).await?;Ok(x-y)}",
            // Swapped statements.
            "async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let y=ctx.activity(b,x).await?;let x=ctx.activity(a,n).await?;Ok(x+y)}",
            // Changed delimiters.
            "async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let x=ctx.activity[a,n].await?;let y=ctx.activity(b,x).await?;Ok(x+y)}",
            // Added a non-doc attribute.
            "#[inline] async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let x=ctx.activity(a,n).await?;let y=ctx.activity(b,x).await?;Ok(x+y)}",
            // Added an inner non-doc attribute.
            "async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{#![allow(unused)] let x=ctx.activity(a,n).await?;let y=ctx.activity(b,x).await?;Ok(x+y)}",
            // Raw ident.
            "async fn wf(ctx: &WorkflowContext,n: u32)->Result<u32,E>{let r#x=ctx.activity(a,n).await?;let y=ctx.activity(b,x).await?;Ok(x+y)}",
        ];
        let mut seen = vec![base];
        for v in variants {
            let hv = h(v);
            assert!(!seen.contains(&hv), "collision for {v}");
            seen.push(hv);
        }
    }

    #[test]
    fn punct_spacing_and_groups_matter() {
        assert_ne!(h("a && b"), h("a & &b"));
        assert_ne!(h("(a) b"), h("(a b)"));
        assert_ne!(h("(a b)"), h("[a b]"));
        assert_ne!(h("(a b)"), h("{a b}"));
        assert_ne!(h("()"), h(""));
        assert_ne!(h("(())"), h("()()"));
        // An invisible-delimited group differs from no group at all.
        let none_group = TokenStream::from(TokenTree::Group(Group::new(Delimiter::None, "a".parse().unwrap())));
        assert_ne!(version_hash(none_group), h("a"));
    }

    #[test]
    fn only_doc_attributes_are_dropped() {
        let plain = h("fn f() {}");
        assert_eq!(plain, h("#[doc = \"x\"] fn f() {}"));
        assert_eq!(plain, h("#[doc(hidden)] fn f() {}"));
        assert_eq!(plain, h("#![doc = \"x\"] fn f() {}"));
        assert_ne!(plain, h("#[cfg(doc)] fn f() {}"));
        assert_ne!(plain, h("#[docs] fn f() {}"));
        assert_ne!(plain, h("#[derive(Debug)] fn f() {}"));
        assert_ne!(plain, h("#(doc) fn f() {}"));
        assert_ne!(plain, h("# doc fn f() {}"));
        assert_ne!(plain, h("#! fn f() {}"));
        // A doc attribute's neighbours are still hashed.
        assert_ne!(h("#[doc = \"x\"] a"), h("#[doc = \"x\"] b"));
        // Trailing `#` with nothing after it is hashed, not a panic.
        assert_ne!(h("a #"), h("a"));
        assert_ne!(h("a # !"), h("a"));
    }

    // ---- deep nesting ----------------------------------------------------

    /// Builds `depth` nested parenthesis groups around `x` from the inside out,
    /// without relying on any parser.
    fn nested(depth: usize) -> TokenStream {
        let mut stream: TokenStream = "x".parse().unwrap();
        for _ in 0..depth {
            stream = TokenStream::from(TokenTree::Group(Group::new(Delimiter::Parenthesis, stream)));
        }
        stream
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        // Run on a deliberately small stack: a recursive walk over 10_000
        // levels would overflow it.
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let deep = version_hash(nested(10_000));
                let deeper = version_hash(nested(10_001));
                assert_ne!(deep, deeper);
                assert_eq!(deep, version_hash(nested(10_000)));
            })
            .unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn deep_nesting_from_source() {
        let depth = 10_000;
        let src = format!("{}x{}", "(".repeat(depth), ")".repeat(depth));
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let parsed = h(&src);
                assert_eq!(parsed, version_hash(nested(depth)));
            })
            .unwrap();
        handle.join().unwrap();
    }

    // ---- site ids --------------------------------------------------------

    #[test]
    fn site_id_golden() {
        assert_eq!(site_id("order_workflow", "charge_card", 0), 3_462_714_308_742_240_462);
    }

    #[test]
    fn site_id_inputs_all_matter() {
        let base = site_id("wf", "activity:charge", 0);
        assert_eq!(base, site_id("wf", "activity:charge", 0));
        assert_ne!(base, site_id("wf", "activity:charge", 1));
        assert_ne!(base, site_id("wf", "activity:refund", 0));
        assert_ne!(base, site_id("wf2", "activity:charge", 0));
        // Length prefixes keep the boundary between workflow and key.
        assert_ne!(site_id("ab", "c", 0), site_id("a", "bc", 0));
    }

    #[test]
    fn site_id_is_never_zero() {
        for wf in ["", "a", "wf", "order_workflow"] {
            for key in ["", "k", "activity:charge", "sleep"] {
                for index in [0, 1, 2, 7, 1000, u32::MAX] {
                    assert_ne!(site_id(wf, key, index), 0);
                }
            }
        }
    }

    // ---- property tests ------------------------------------------------

    /// A token of the generated vocabulary. Every punct is a single character
    /// and is always rendered with whitespace on both sides, so it is `Alone`
    /// in both renderings.
    #[derive(Clone, Debug)]
    enum Tok {
        Ident(String),
        Punct(char),
        Lit(&'static str),
        Group(char, Vec<Tok>),
    }

    fn tok_strategy() -> impl Strategy<Value = Tok> {
        let leaf = prop_oneof![
            prop::sample::select(
                vec!["foo", "bar", "ctx", "x", "n", "wf", "let", "fn", "await", "Ok", "r#type", "_a",]
            )
            .prop_map(|s| Tok::Ident(s.to_owned())),
            prop::sample::select(vec![
                '+', '-', '*', '/', '%', ';', ',', '.', ':', '=', '<', '>', '!', '&', '|', '^', '?', '@', '#', '~',
            ])
            .prop_map(Tok::Punct),
            prop::sample::select(vec![
                "0", "42", "1u8", "1.5", "2.0f64", "\"hi\"", "\"a b\"", "\"\"", "'c'", "b\"x\"", "b'y'",
            ])
            .prop_map(Tok::Lit),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            (prop::sample::select(vec!['(', '[', '{']), prop::collection::vec(inner, 0..6))
                .prop_map(|(d, toks)| Tok::Group(d, toks))
        })
    }

    /// Flattens tokens into lexemes (`(` and `)` are separate lexemes).
    fn lexemes(toks: &[Tok], out: &mut Vec<String>) {
        for tok in toks {
            match tok {
                Tok::Ident(s) => out.push(s.clone()),
                Tok::Punct(c) => out.push(c.to_string()),
                Tok::Lit(s) => out.push((*s).to_owned()),
                Tok::Group(open, inner) => {
                    let close = match open {
                        '(' => ')',
                        '[' => ']',
                        _ => '}',
                    };
                    out.push(open.to_string());
                    lexemes(inner, out);
                    out.push(close.to_string());
                }
            }
        }
    }

    /// Separators that start and end with whitespace and contain only
    /// whitespace and ordinary (non-doc) comments.
    const SEPARATORS: &[&str] = &[
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        "\n\n    ",
        " /* c */ ",
        "\n/* a\nmulti-line comment */\n",
        " // c\n",
        "\t// line comment ( [ { \"\n  ",
        " /* nested /* c */ ok */ ",
    ];

    fn render_single(lex: &[String]) -> String {
        lex.join(" ")
    }

    fn render_messy(lex: &[String], seps: &[usize]) -> String {
        let pick = |i: usize| SEPARATORS[seps.get(i % seps.len().max(1)).copied().unwrap_or(0)];
        let mut out = String::from(pick(lex.len()));
        for (i, l) in lex.iter().enumerate() {
            if i > 0 {
                out.push_str(pick(i));
            }
            out.push_str(l);
        }
        out.push_str(pick(lex.len() + 1));
        out
    }

    fn rename_ident(toks: &mut [Tok], target: usize, seen: &mut usize) -> bool {
        for tok in toks {
            match tok {
                Tok::Ident(s) => {
                    if *seen == target {
                        s.push_str("_renamed");
                        return true;
                    }
                    *seen += 1;
                }
                Tok::Group(_, inner) => {
                    if rename_ident(inner, target, seen) {
                        return true;
                    }
                }
                Tok::Punct(_) | Tok::Lit(_) => {}
            }
        }
        false
    }

    fn count_idents(toks: &[Tok]) -> usize {
        toks.iter()
            .map(|t| match t {
                Tok::Ident(_) => 1,
                Tok::Group(_, inner) => count_idents(inner),
                Tok::Punct(_) | Tok::Lit(_) => 0,
            })
            .sum()
    }

    proptest! {
        #[test]
        fn prop_formatting_does_not_move_the_hash(
            toks in prop::collection::vec(tok_strategy(), 0..24),
            seps in prop::collection::vec(0..SEPARATORS.len(), 1..32),
        ) {
            let mut lex = Vec::new();
            lexemes(&toks, &mut lex);
            let single = render_single(&lex);
            let messy = render_messy(&lex, &seps);
            prop_assert_eq!(h(&single), h(&messy), "single: {:?}\nmessy: {:?}", single, messy);
        }

        #[test]
        fn prop_renaming_an_ident_moves_the_hash(
            toks in prop::collection::vec(tok_strategy(), 0..24),
            which in any::<prop::sample::Index>(),
        ) {
            let count = count_idents(&toks);
            prop_assume!(count > 0);
            let mut renamed = toks.clone();
            prop_assert!(rename_ident(&mut renamed, which.index(count), &mut 0));

            let mut before = Vec::new();
            lexemes(&toks, &mut before);
            let mut after = Vec::new();
            lexemes(&renamed, &mut after);
            prop_assert_ne!(h(&render_single(&before)), h(&render_single(&after)));
        }
    }
}
