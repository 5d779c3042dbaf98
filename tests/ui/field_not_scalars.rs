use std::collections::HashMap;
use stochad::Scalars;

#[derive(Scalars)]
struct Jets<S> {
    by_name: HashMap<String, S>,
}

fn main() {}
