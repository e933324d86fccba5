// `format!`, `vec!`, `assert!`, `assert_eq!`, `matches!` and `write!` to a `String` are allowed.
use continuum::prelude::*;

#[workflow]
async fn formatted(_ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    use std::fmt::Write;
    let items = vec![1u32, 2, 3];
    assert!(!items.is_empty());
    assert_eq!(items.len(), 3);
    let has_two = matches!(items.get(1), Some(2));
    let mut out = String::new();
    write!(out, "{}", items.len()).map_err(|e| WorkflowError::msg(e.to_string()))?;
    Ok(format!("{out}:{has_two}"))
}

fn main() {}
