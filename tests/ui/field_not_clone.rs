use stochad::Scalars;

struct Handle(u32);

#[derive(Scalars)]
struct Jet<S> {
    pt: S,
    handle: Handle,
}

fn main() {}
