use stochad::Scalars;

#[derive(Scalars)]
#[scalars(scalar = T)]
struct Jet<S, Tag> {
    pt: S,
    tag: Tag,
}

fn main() {}
