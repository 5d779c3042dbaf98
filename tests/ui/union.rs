use stochad::Scalars;

#[derive(Scalars)]
union Bits<S: Copy> {
    x: S,
    bits: u64,
}

fn main() {}
