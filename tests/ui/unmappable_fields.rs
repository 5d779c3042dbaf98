use stochad::Scalars;

#[derive(Scalars)]
struct Views<'a, S> {
    borrowed: &'a S,
    raw: Vec<*const S>,
    callback: fn(S) -> S,
    boxed: Box<dyn Fn(S) -> f64>,
    fine: &'a str,
}

fn main() {}
