use stochad::Scalars;

#[derive(Scalars)]
#[scalars(scalar = S, skip = true)]
struct Jet<S> {
    pt: S,
}

fn main() {}
