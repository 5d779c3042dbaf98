//! The derivative estimators side by side, against exact values: on the reference random walk
//! (X₀ = 0, steps ±1 with P(+1) = exp(−X/p), p = 2n, f = X²), the comparison the
//! StochasticAD.jl paper makes, and on the structural toy (the jet clusterer's rehearsal), which
//! decides the default categorical coupling. Each estimate is given as its mean ± standard error
//! and its per-sample standard deviation. Run: `cargo run --release --example estimator_variance`.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use stochad::sample::Coupling;
use stochad::toys::{random_walk, random_walk_exact, structural_toy};
use stochad::{derivative, derivative_with, exact, AllWorldsTriple, Dual, Estimate, Result, Score};

/// The derivative estimators side by side, against exact values.
///
/// On the reference random walk (the StochasticAD.jl paper's comparison) and on the structural
/// toy (the jet clusterer's rehearsal), prints for each estimator the mean of the per-sample
/// derivative estimates ± its standard error, the per-sample standard deviation, its ratio to a
/// reference estimator's, and how many standard errors the mean lies from the exact derivative.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Samples per estimate on the random walk (at least 2, for a standard deviation).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(2..)
    )]
    walk_samples: u64,
    /// Seed of the random-walk estimates (every estimator gets the same seed).
    #[arg(long, value_name = "S", default_value_t = 1)]
    walk_seed: u64,
    /// Samples per estimate on the structural toy (at least 2, for a standard deviation).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100_000,
        value_parser = clap::value_parser!(u64).range(2..)
    )]
    toy_samples: u64,
    /// Seed of the structural-toy estimates (every estimator gets the same seed).
    #[arg(long, value_name = "S", default_value_t = 2)]
    toy_seed: u64,
}

/// The column titles after the row's first column (n or θ).
fn header() -> String {
    format!(
        "{:<38} {:>10} ± {:>8} {:>10} {:>8} {:>6}",
        "estimator", "mean", "s.e.", "std", "std/ref", "z"
    )
}

/// One line: the estimate, its per-sample std, the std relative to `reference`'s, and the
/// distance of the mean from the exact value in standard errors.
fn line(name: &str, e: &Estimate, reference: &Estimate, exact: f64) -> String {
    format!(
        "      {name:<38} {:>10.5} ± {:>8.5} {:>10.3} {:>8.2} {:>+6.1}",
        e.mean,
        e.stderr,
        e.std_dev(),
        e.std_dev() / reference.std_dev(),
        (e.mean - exact) / e.stderr
    )
}

/// Prints a line of the report; a closed pipe (`| head`) ends the run quietly.
fn say(progress: &ProgressBar, text: String) {
    progress.suspend(|| {
        if let Err(e) = writeln!(io::stdout(), "{text}") {
            if e.kind() == io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("writing to standard output: {e}");
        }
    })
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("estimator_variance: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let (walk_n, toy_thetas) = ([10usize, 20, 50, 100], [0.4, 0.7, 1.0, 1.3]);
    // 4 estimators per walk length, 6 per θ; drawn on stderr, and only when it is a terminal.
    let progress = ProgressBar::new((4 * walk_n.len() + 6 * toy_thetas.len()) as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} estimates, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let say = |text: String| say(&progress, text);

    let (samples, seed) = (args.walk_samples as usize, args.walk_seed);
    say(format!(
        "random walk: X₀ = 0, steps ±1 with P(+1) = exp(−X/p), p = 2n, f = X²; d/dp at p = 2n\n\
         {samples} samples per estimate, seed {seed}. mean ± s.e.: mean of the per-sample \
         estimates and its standard error;\n\
         std: per-sample standard deviation (s.e. = std/√samples); std/ref: relative to the \
         pruned triple's;\nz = (mean − exact)/s.e., the exact dE/dp by the transition matrix\n\n\
         {:>4}  {}",
        "n",
        header()
    ));
    for n in walk_n {
        progress.set_message(format!("random walk, n = {n}"));
        let p = 2.0 * n as f64;
        let exact_d = random_walk_exact(p, n).1;
        let est = |e: Result<Estimate>| {
            progress.inc(1);
            e
        };
        let triple = est(derivative(|p| random_walk(p, n))
            .at(p)
            .samples(samples)
            .seed(seed)
            .estimate())?;
        let exact_backend = est(derivative_with(|p: AllWorldsTriple| random_walk(p, n))
            .at(p)
            .samples(samples)
            .seed(seed)
            .estimate())?;
        let score = est(derivative_with(|p: Score| random_walk(p, n))
            .at(p)
            .samples(samples)
            .seed(seed)
            .baseline(false)
            .estimate())?;
        let score_b = est(derivative_with(|p: Score| random_walk(p, n))
            .at(p)
            .samples(samples)
            .seed(seed)
            .estimate())?;
        say(format!(
            "{n:>4}  {:<38} {exact_d:>10.5}\n{}\n{}\n{}\n{}",
            "exact dE/dp (transition matrix)",
            line(
                "triple, pruned backend (default)",
                &triple,
                &triple,
                exact_d
            ),
            line(
                "triple, all-worlds backend",
                &exact_backend,
                &triple,
                exact_d
            ),
            line("score function, no baseline", &score, &triple, exact_d),
            line(
                "score function, leave-one-out baseline",
                &score_b,
                &triple,
                exact_d
            ),
        ));
    }

    // The structural toy (the clusterer's dress rehearsal): which categorical coupling is
    // noisier? This decides the default coupling.
    let (samples, seed) = (args.toy_samples as usize, args.toy_seed);
    say(format!(
        "\nstructural toy (merge-or-retire on four objects): d/dθ\n\
         {samples} samples per estimate, seed {seed}; std/ref: relative to the pruned \
         triple's with the proportional coupling (the default);\n\
         z = (mean − exact)/s.e., the exact d/dθ by enumeration\n\n\
         {:>5} {}",
        "θ",
        header()
    ));
    for theta in toy_thetas {
        progress.set_message(format!("structural toy, θ = {theta}"));
        let exact_d =
            exact::derivative(|t: Dual| structural_toy(t, Coupling::Proportional), theta)?.gradient
                [0];
        let est = |e: Result<Estimate>| {
            progress.inc(1);
            e
        };
        let pruned = |c: Coupling| {
            derivative(move |t| structural_toy(t, c))
                .at(theta)
                .samples(samples)
                .seed(seed)
        };
        let exact_backend = |c: Coupling| {
            derivative_with(move |t: AllWorldsTriple| structural_toy(t, c))
                .at(theta)
                .samples(samples)
                .seed(seed)
        };
        let inv = est(pruned(Coupling::Inversion).estimate())?;
        let inv_exact = est(exact_backend(Coupling::Inversion).estimate())?;
        let prop = est(pruned(Coupling::Proportional).estimate())?;
        let prop_exact = est(exact_backend(Coupling::Proportional).estimate())?;
        let score_b = est(
            derivative_with(|t: Score| structural_toy(t, Coupling::Proportional))
                .at(theta)
                .samples(samples)
                .seed(seed)
                .estimate(),
        )?;
        let mix = est(pruned(Coupling::Proportional).score_mix(true).estimate())?;
        say(format!(
            "{theta:>5.2} {:<38} {exact_d:>10.5}\n{}\n{}\n{}\n{}\n{}\n{}",
            "exact d/dθ (enumeration)",
            line("triple, inversion, pruned backend", &inv, &prop, exact_d),
            line(
                "triple, inversion, all-worlds backend",
                &inv_exact,
                &prop,
                exact_d
            ),
            line(
                "triple, proportional, pruned (default)",
                &prop,
                &prop,
                exact_d
            ),
            line(
                "triple, proportional, all-worlds backend",
                &prop_exact,
                &prop,
                exact_d
            ),
            line(
                "score function, leave-one-out baseline",
                &score_b,
                &prop,
                exact_d
            ),
            line("proportional triple + score mix", &mix, &prop, exact_d),
        ));
    }
    progress.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Args::command().debug_assert();
        assert!(Args::try_parse_from(["estimator_variance", "--toy-samples", "1"]).is_err());
    }
}
