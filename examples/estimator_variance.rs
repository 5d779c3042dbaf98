//! Per-sample standard deviation of the derivative estimators on the reference random walk
//! (X₀ = 0, steps ±1 with P(+1) = exp(−X/p), p = 2n, f = X²), the comparison the StochasticAD.jl
//! paper makes. Run: `cargo run --release --example estimator_variance`.

use stochad::sample::bernoulli;
use stochad::{derivative, derivative_with, ExactTriple, Result, Scalar, Score};

fn random_walk<S: Scalar>(p: S, n: usize) -> Result<S> {
    let mut x = S::zero();
    for _ in 0..n {
        let up = bernoulli((-x / p).exp())?;
        x = x + up * 2.0 - 1.0;
    }
    Ok(x * x)
}

fn main() -> Result<()> {
    let samples = 10_000;
    println!("random walk, p = 2n, f = X², {samples} samples, per-sample std of d/dp");
    println!(
        "{:>4} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "n", "dE/dp", "triple", "exact", "score", "score+b", "sc/tr", "sc+b/tr"
    );
    for n in [10usize, 20, 50, 100] {
        let p = 2.0 * n as f64;
        let t = derivative(|p| random_walk(p, n))
            .at(p)
            .samples(samples)
            .seed(1)
            .estimate()?;
        let x = derivative_with(|p: ExactTriple| random_walk(p, n))
            .at(p)
            .samples(samples)
            .seed(1);
        let x = x.estimate()?;
        let s = derivative_with(|p: Score| random_walk(p, n))
            .at(p)
            .samples(samples)
            .seed(1);
        let (s0, sb) = (
            s.baseline(false).estimate()?,
            derivative_with(|p: Score| random_walk(p, n))
                .at(p)
                .samples(samples)
                .seed(1)
                .estimate()?,
        );
        println!(
            "{n:>4} {:>12.5} {:>12.3} {:>12.3} {:>12.3} {:>12.3} {:>10.1} {:>10.1}",
            t.mean,
            t.std_dev(),
            x.std_dev(),
            s0.std_dev(),
            sb.std_dev(),
            s0.std_dev() / t.std_dev(),
            sb.std_dev() / t.std_dev()
        );
    }
    Ok(())
}
