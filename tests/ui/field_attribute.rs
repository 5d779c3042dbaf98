use stochad::Scalars;

#[derive(Scalars)]
struct Jet<S> {
    #[scalars(scalar = S)]
    pt: S,
}

fn main() {}
