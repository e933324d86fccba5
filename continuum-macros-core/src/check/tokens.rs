//! A token-level scan for macro arguments that do not parse as
//! expressions (`tracing::info!(order = %id, …)`, user macros with their
//! own syntax): every `a::b::c` path and every nested `m!(…)` invocation
//! in the tokens, at any depth.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// A path found in tokens.
#[derive(Debug, Clone)]
pub struct ScannedPath {
    /// Its segments, generic arguments dropped.
    pub segments: Vec<String>,
    /// Written with a leading `::`.
    pub leading_colon: bool,
    /// The tokens it spans (for error spans).
    pub tokens: TokenStream,
    /// When followed by `!(…)`: the macro's arguments.
    pub macro_args: Option<TokenStream>,
}

fn is_punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
        && is_punct(tokens.get(i + 1), ':')
}

/// Skips a `<…>` starting at `i`; returns the index after the closing `>`.
fn skip_generics(tokens: &[TokenTree], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(t) = tokens.get(i) {
        match t {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Calls `found` for every path and macro invocation in `tokens`, in
/// source order. Paths after `.` (methods, fields) are not paths.
pub fn scan(tokens: TokenStream, found: &mut impl FnMut(ScannedPath)) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    let mut after_dot = false;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => {
                scan(g.stream(), found);
                after_dot = false;
                i += 1;
            }
            TokenTree::Punct(p) if p.as_char() == '.' => {
                after_dot = true;
                i += 1;
            }
            TokenTree::Ident(_) if after_dot => {
                after_dot = false;
                i += 1;
            }
            t @ (TokenTree::Ident(_) | TokenTree::Punct(_))
                if matches!(t, TokenTree::Ident(_))
                    || (is_path_sep(&tokens, i) && matches!(tokens.get(i + 2), Some(TokenTree::Ident(_)))) =>
            {
                let start = i;
                let leading_colon = matches!(t, TokenTree::Punct(_));
                if leading_colon {
                    i += 2;
                }
                let mut segments = Vec::new();
                while let Some(TokenTree::Ident(id)) = tokens.get(i) {
                    segments.push(id.to_string());
                    i += 1;
                    if is_path_sep(&tokens, i) && is_punct(tokens.get(i + 2), '<') {
                        i = skip_generics(&tokens, i + 2);
                    }
                    if is_path_sep(&tokens, i) && matches!(tokens.get(i + 2), Some(TokenTree::Ident(_))) {
                        i += 2;
                    } else {
                        break;
                    }
                }
                let span_tokens: TokenStream = tokens[start..i].iter().cloned().collect();
                let mut macro_args = None;
                if is_punct(tokens.get(i), '!')
                    && let Some(TokenTree::Group(g)) = tokens.get(i + 1)
                    && g.delimiter() != Delimiter::None
                {
                    macro_args = Some(g.stream());
                    i += 2;
                }
                found(ScannedPath { segments, leading_colon, tokens: span_tokens, macro_args });
                after_dot = false;
            }
            _ => {
                after_dot = false;
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan(src.parse().unwrap(), &mut |p| {
            let mut s = if p.leading_colon { "::".to_string() } else { String::new() };
            s += &p.segments.join("::");
            if p.macro_args.is_some() {
                s += "!";
            }
            out.push(s);
        });
        out
    }

    #[test]
    fn finds_paths_macros_and_leading_colons_but_not_methods() {
        assert_eq!(
            paths(
                "order = %id, \"at {}\", ::std::time::Instant::now(), x.now(), inner!(Utc::now()), HashMap::<u8, u8>::new()"
            ),
            ["order", "id", "::std::time::Instant::now", "x", "inner!", "HashMap::new"]
        );
    }

    #[test]
    fn nested_groups_are_scanned() {
        assert_eq!(paths("{ [ (SystemTime::now()) ] }"), ["SystemTime::now"]);
    }
}
