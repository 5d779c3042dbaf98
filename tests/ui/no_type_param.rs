use stochad::Scalars;

#[derive(Scalars)]
struct Plain {
    x: f64,
}

fn main() {}
