// a user type whose name starts with `HashMap` is not `std::collections::HashMap`.
use continuum::prelude::*;

struct HashMapLike {
    pairs: Vec<(String, u32)>,
}

impl HashMapLike {
    fn new() -> Self {
        HashMapLike { pairs: Vec::new() }
    }
    fn insert(&mut self, key: &str, value: u32) {
        self.pairs.push((key.to_string(), value));
    }
    fn count(&self) -> usize {
        self.pairs.len()
    }
}

#[workflow]
async fn indexed(_ctx: &WorkflowContext, _: ()) -> Result<usize, WorkflowError> {
    let mut m = HashMapLike::new();
    m.insert("a", 1);
    Ok(m.count())
}

fn main() {}
