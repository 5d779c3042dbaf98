use stochad::Scalars;

#[derive(Scalars)]
struct Tagged<Tag, S> {
    tag: Tag,
    x: S,
}

fn main() {}
