// `BTreeMap`, `BTreeSet`, `Vec` and `String` iterate deterministically.
use continuum::prelude::*;

#[workflow]
async fn indexed(_ctx: &WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut m = BTreeMap::new();
    m.insert("b".to_string(), 2u32);
    m.insert("a".to_string(), 1u32);
    let s: BTreeSet<u32> = m.values().copied().collect();
    let v: Vec<u32> = s.into_iter().collect();
    let first = String::from("n");
    let typed: std::collections::BTreeMap<u8, u8> = std::collections::BTreeMap::new();
    Ok(format!("{first}{}{}", v.len(), typed.len()))
}

fn main() {}
