//! Per-sample standard deviation of the derivative estimators on the reference random walk
//! (X₀ = 0, steps ±1 with P(+1) = exp(−X/p), p = 2n, f = X²), the comparison the StochasticAD.jl
//! paper makes. Run: `cargo run --release --example estimator_variance`.

use stochad::sample::Coupling;
use stochad::toys::{random_walk, random_walk_exact, structural_toy};
use stochad::{derivative, derivative_with, exact, Dual, ExactTriple, Result, Score};

fn main() -> Result<()> {
    let samples = 10_000;
    println!("random walk, p = 2n, f = X², {samples} samples, per-sample std of d/dp (dE/dp exact, by the transition matrix)");
    println!(
        "{:>4} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "n", "dE/dp", "triple mean", "triple", "exact", "score", "score+b", "sc/tr", "sc+b/tr"
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
            "{n:>4} {:>12.5} {:>12.5} {:>12.3} {:>12.3} {:>12.3} {:>12.3} {:>10.1} {:>10.1}",
            random_walk_exact(p, n).1,
            t.mean,
            t.std_dev(),
            x.std_dev(),
            s0.std_dev(),
            sb.std_dev(),
            s0.std_dev() / t.std_dev(),
            sb.std_dev() / t.std_dev()
        );
    }

    // The structural toy (the clusterer's dress rehearsal): which categorical coupling is
    // noisier? This decides the default coupling.
    let samples = 100_000;
    println!(
        "\nstructural toy, {samples} samples, per-sample std of d/dθ (exact value by enumeration)"
    );
    println!(
        "{:>5} {:>10} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "θ",
        "exact",
        "inversion",
        "proportional",
        "exact-inv",
        "exact-prop",
        "score+b",
        "prop+score"
    );
    for theta in [0.4, 0.7, 1.0, 1.3] {
        let ex = exact::derivative(|t: Dual| structural_toy(t, Coupling::Proportional), theta)?;
        let std = |c: Coupling| -> Result<(f64, f64)> {
            let p = derivative(|t| structural_toy(t, c))
                .at(theta)
                .samples(samples)
                .seed(2)
                .estimate()?;
            let e = derivative_with(|t: ExactTriple| structural_toy(t, c))
                .at(theta)
                .samples(samples)
                .seed(2);
            Ok((p.std_dev(), e.estimate()?.std_dev()))
        };
        let (inv, inv_exact) = std(Coupling::Inversion)?;
        let (prop, prop_exact) = std(Coupling::Proportional)?;
        let s = derivative_with(|t: Score| structural_toy(t, Coupling::Proportional))
            .at(theta)
            .samples(samples)
            .seed(2);
        let mix = derivative(|t| structural_toy(t, Coupling::Proportional))
            .at(theta)
            .samples(samples)
            .seed(2);
        println!(
            "{theta:>5.2} {:>10.4} {inv:>12.3} {prop:>12.3} {inv_exact:>12.3} {prop_exact:>12.3} {:>12.3} {:>12.3}",
            ex.gradient[0],
            s.estimate()?.std_dev(),
            mix.score_mix(true).estimate()?.std_dev()
        );
    }
    Ok(())
}
