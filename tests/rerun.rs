//! `stochad::rerun` and `stochad::rerun_resumable`: unbiased against the exact oracle, bit for
//! bit whatever the thread count, and loud where the `f64` twin is not the program or a resumed
//! run does not go on as the program would.

mod common;

use stochad::exact;
use stochad::rerun::{checkpoint, Rerun, Resumable};
use stochad::sample::{bernoulli, categorical, gumbel_softmax, Coupling};
use stochad::{Dual, Error, GradientEstimate, KeptFlips, Recorder, Scalar};

/// A categorical whose weights depend on both parameters, then a coin whose probability depends
/// on the first outcome: later draws see the flipped history.
fn two_stage<S: Scalar>([a, b]: [S; 2]) -> stochad::Result<S> {
    let k = categorical(&[a, b, a * b + 0.5])?;
    // Falling in a: some jumps have negative weights.
    let p = -(k * 0.1 + a * 0.3) * 0.5 + 0.8;
    let c = bernoulli(p)?;
    Ok(k * k + c * 3.0 + k * c)
}

fn assert_close(name: &str, mean: f64, stderr: f64, exact: f64) {
    assert!(
        5.0 * stderr < 0.05 * exact.abs(),
        "{name}: the check is too weak: 5σ̂ = {} vs |d| = {}",
        5.0 * stderr,
        exact.abs()
    );
    assert!(
        (mean - exact).abs() < 5.0 * stderr,
        "{name}: {mean} ± {stderr} vs exact {exact}"
    );
}

/// Checks each direction of `g` against the exact gradient of `program` at `at` (5σ̂, with the
/// power to see a 5 % bias), and the value.
fn agrees(
    name: &str,
    g: &GradientEstimate<2>,
    program: fn([Dual<2>; 2]) -> stochad::Result<Dual<2>>,
    at: [f64; 2],
) {
    let ex = exact::expectation(program, at).unwrap();
    for d in 0..2 {
        assert_close(
            &format!("{name} d{d}"),
            g.mean[d],
            g.stderr[d],
            ex.gradient[d],
        );
    }
    assert!(
        (g.value - ex.value).abs() < 5.0 * g.value_stderr,
        "{name}: value"
    );
}

#[test]
fn rerun_agrees_with_the_exact_gradient() {
    // The signed coupling's jumps come in pairs of opposite signs (the proportional one's
    // weights are all positive).
    // With every flip re-run, each run's estimate is the sum over all of its jumps; with one
    // flip shared, each direction's weight is its importance ratio.
    let cases = [
        (Coupling::Proportional, [0.7, 0.4], KeptFlips::PerDirection),
        (Coupling::Proportional, [0.3, 1.2], KeptFlips::PerDirection),
        (Coupling::Signed, [0.7, 0.4], KeptFlips::PerDirection),
        (Coupling::Proportional, [0.3, 1.2], KeptFlips::Every),
        (Coupling::Signed, [0.7, 0.4], KeptFlips::Every),
        (Coupling::Proportional, [0.7, 0.4], KeptFlips::Shared),
        (Coupling::Signed, [0.7, 0.4], KeptFlips::Shared),
        // A reservoir of k: the threshold τ weighs the kept flips (with the signed coupling a
        // direction has up to 3 jumps, so both k = 1 and 2 leave one out).
        (Coupling::Proportional, [0.7, 0.4], KeptFlips::Reservoir(1)),
        (Coupling::Signed, [0.7, 0.4], KeptFlips::Reservoir(1)),
        (Coupling::Signed, [0.3, 1.2], KeptFlips::Reservoir(2)),
        // Both directions' jumps drawn together: one target per draw (its weights the rates
        // over the mixture's probability), two (systematic), and one reservoir that drops
        // some of the up to 3 joint flips.
        (
            Coupling::Signed,
            [0.7, 0.4],
            KeptFlips::Joint {
                targets: 1,
                keep: 8,
            },
        ),
        (
            Coupling::Signed,
            [0.3, 1.2],
            KeptFlips::Joint {
                targets: 2,
                keep: 8,
            },
        ),
        (
            Coupling::Proportional,
            [0.7, 0.4],
            KeptFlips::Joint {
                targets: 2,
                keep: 1,
            },
        ),
        (
            Coupling::Signed,
            [0.3, 1.2],
            KeptFlips::Joint {
                targets: 2,
                keep: 2,
            },
        ),
    ];
    for (coupling, at, keep) in cases {
        let g = stochad::rerun(two_stage, two_stage)
            .at(at)
            .samples(200_000)
            .seed(3)
            .coupling(coupling)
            .keep(keep)
            .estimate()
            .unwrap();
        agrees(&format!("{coupling:?} {at:?} {keep:?}"), &g, two_stage, at);
    }
}

#[test]
fn uniforms_taken_by_a_relaxed_draw_keep_the_flips_in_place() {
    // Three primal uniforms go to a Gumbel-softmax draw before the two stages (its output
    // unused): the flips' draw numbers count them, and the gradient is the two stages'.
    fn noisy<S: Scalar>(x: [S; 2]) -> stochad::Result<S> {
        gumbel_softmax(&[S::from(1.0), S::from(2.0), S::from(3.0)], 0.5)?;
        two_stage(x)
    }
    let at = [0.7, 0.4];
    let g = stochad::rerun(noisy, noisy)
        .at(at)
        .samples(200_000)
        .seed(4)
        .estimate()
        .unwrap();
    agrees("after a relaxed draw", &g, two_stage, at);
}

#[test]
fn a_program_may_branch_on_its_values() {
    // The branch a triple could not take on its primal value alone.
    fn branchy<S: Scalar>([a, b]: [S; 2]) -> stochad::Result<S> {
        let k = categorical(&[a, b, a * b + 0.5])?;
        Ok(if k.value() > 0.5 {
            a.sin() * k
        } else {
            b.cos() * 2.0
        })
    }
    let at = [0.7, 0.4];
    let g = stochad::rerun(branchy, branchy)
        .at(at)
        .samples(200_000)
        .seed(6)
        .estimate()
        .unwrap();
    agrees("branchy", &g, branchy, at);
}

/// Runs `est` with 1 and 2 threads: the same runs bit for bit, and some flip moved a run.
fn same_whatever_the_thread_count<P: Resumable<2>>(est: &Rerun<P, 2>) {
    let runs = |threads| common::with_threads(threads, || est.runs().unwrap());
    let (one, two) = (runs(1), runs(2));
    common::assert_same_runs(&one, &two);
    // The flips do contribute: not every run is its pathwise derivative.
    assert!(one.iter().any(|r| r.derivative != r.pathwise));
}

#[test]
fn rerun_is_the_same_whatever_the_thread_count() {
    same_whatever_the_thread_count(
        &stochad::rerun(two_stage, two_stage)
            .at([0.7, 0.4])
            .samples(500)
            .seed(9),
    );
}

#[test]
fn a_twin_that_is_not_the_program_is_an_error() {
    // Another output: caught on sample 0.
    let other = |x: [f64; 2]| two_stage(x).map(|v| v + 1.0);
    let e = stochad::rerun(two_stage, other)
        .at([0.7, 0.4])
        .samples(10)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("twin returned")),
        "{e:?}"
    );
    // Other draws: the re-run does not repeat the recording run's history before its flip.
    let shifted = |[a, b]: [f64; 2]| {
        let k = categorical(&[b, a, a * b + 0.5])?;
        let c = bernoulli(-(k * 0.1 + a * 0.3) * 0.5 + 0.8)?;
        Ok::<_, Error>(k * k + c * 3.0 + k * c)
    };
    let e = stochad::rerun(two_stage, shifted)
        .at([0.7, 0.4])
        .samples(200)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("before the flip")),
        "{e:?}"
    );
    // A fourth category of weight 0: the same draws and outputs, but a flip of the first draw
    // finds four parameters where the recording run had three.
    let padded = |[a, b]: [f64; 2]| {
        let k = categorical(&[a, b, a * b + 0.5, 0.0])?;
        let c = bernoulli(-(k * 0.1 + a * 0.3) * 0.5 + 0.8)?;
        Ok::<_, Error>(k * k + c * 3.0 + k * c)
    };
    let e = stochad::rerun(two_stage, padded)
        .at([0.7, 0.4])
        .samples(200)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("parameters")),
        "{e:?}"
    );
}

#[test]
fn a_twin_that_stops_drawing_before_the_flip_is_an_error() {
    // The same first draw, no coin: a flip of the coin is never reached.
    let short = |[a, b]: [f64; 2]| {
        let k = categorical(&[a, b, a * b + 0.5])?;
        Ok::<_, Error>(k * k)
    };
    let est = stochad::rerun(two_stage, short).at([0.7, 0.4]).seed(5);
    let e = (0..200).find_map(|i| est.run(i).err());
    assert!(
        matches!(&e, Some(Error::InvalidConfig { reason }) if reason.contains("fewer")),
        "{e:?}"
    );
}

#[test]
fn a_jump_weight_that_is_not_finite_is_an_error() {
    // √θ at θ = 0: p = 0 with an infinite tangent.
    let coin = |[t]: [f64; 1]| bernoulli(t.sqrt());
    let joint = KeptFlips::Joint {
        targets: 2,
        keep: 4,
    };
    for keep in [KeptFlips::PerDirection, joint] {
        let e = stochad::rerun(|[t]| bernoulli(t.sqrt()), coin)
            .at([0.0])
            .samples(50)
            .keep(keep)
            .estimate();
        assert!(
            matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("not finite")),
            "{keep:?}: {e:?}"
        );
    }
}

#[test]
fn bad_settings_are_typed_errors() {
    let r = stochad::rerun(two_stage, two_stage);
    assert!(matches!(
        r.at([f64::NAN, 0.4]).estimate(),
        Err(Error::InvalidConfig { .. })
    ));
    let r = stochad::rerun(two_stage, two_stage);
    assert!(matches!(
        r.at([0.7, 0.4]).samples(0).estimate(),
        Err(Error::InvalidConfig { .. })
    ));
    for keep in [
        KeptFlips::Reservoir(0),
        KeptFlips::Joint {
            targets: 0,
            keep: 4,
        },
        KeptFlips::Joint {
            targets: 2,
            keep: 0,
        },
    ] {
        let r = stochad::rerun(two_stage, two_stage).keep(keep);
        assert!(matches!(r.run(0), Err(Error::InvalidConfig { .. })));
        assert!(matches!(
            r.at([0.7, 0.4]).estimate(),
            Err(Error::InvalidConfig { .. })
        ));
    }
}

/// Four coins whose jump weights differ by orders of magnitude along each direction: a
/// reservoir of 2 or 3 flips then holds heavy ones at their own weights beside light ones
/// raised to the threshold.
fn uneven<S: Scalar>([a, b]: [S; 2]) -> stochad::Result<S> {
    let c1 = bernoulli(a * 0.5)?;
    let c2 = bernoulli(b * 0.3 + 0.1)?;
    let c3 = bernoulli(a * a * 0.05 + 0.02)?;
    let c4 = bernoulli(a * b * 0.8)?;
    Ok(c1 * 2.0 + c2 * c1 + c3 * 5.0 + c4 * (c2 + 1.0))
}

#[test]
fn a_reservoir_of_a_few_flips_agrees_with_the_exact_gradient() {
    let joint = |keep| KeptFlips::Joint { targets: 1, keep };
    for (at, keep) in [
        ([0.7, 0.4], KeptFlips::Reservoir(2)),
        ([0.4, 0.9], KeptFlips::Reservoir(3)),
        // One reservoir for both directions, four coins' joint flips.
        ([0.7, 0.4], joint(2)),
        ([0.4, 0.9], joint(3)),
    ] {
        let g = stochad::rerun(uneven, uneven)
            .at(at)
            .samples(200_000)
            .seed(4)
            .keep(keep)
            .estimate()
            .unwrap();
        agrees(&format!("uneven {at:?} {keep:?}"), &g, uneven, at);
    }
}

#[test]
fn a_reservoir_with_room_for_every_jump_is_every_flip() {
    // No direction has more than 3 jumps: with k = 4 the threshold is 0 and every jump is kept
    // with its own weight, the estimate of `KeptFlips::Every` run by run (summed in another
    // order, so to rounding).
    let est = |keep| {
        stochad::rerun(two_stage, two_stage)
            .at([0.7, 0.4])
            .seed(5)
            .coupling(Coupling::Signed)
            .keep(keep)
    };
    let (every, priority) = (est(KeptFlips::Every), est(KeptFlips::Reservoir(4)));
    for i in 0..500 {
        let (a, b) = (every.run(i).unwrap(), priority.run(i).unwrap());
        for d in 0..2 {
            assert!(
                (a.derivative[d] - b.derivative[d]).abs() <= 1e-12 * (1.0 + a.derivative[d].abs()),
                "run {i} direction {d}: {} vs {}",
                a.derivative[d],
                b.derivative[d]
            );
        }
    }
}

/// `two_stage` as a [`Resumable`]: a checkpoint after the categorical and after the coin (each
/// where asked), and the bugs a resume can have.
#[derive(Clone, Copy)]
struct Staged {
    first: bool,
    second: bool,
    bug: Bug,
}

#[derive(Clone, Copy, PartialEq)]
enum Bug {
    None,
    /// Resumes with the recorded outcome whatever it is given (the primal history again).
    IgnoresOutcome,
    /// Keeps the parameters' tangents out of the checkpoint: the same values, so no error, and
    /// none is needed (the rest of the run needs only values).
    Dropped,
    /// Checkpoints the state one draw late (after the coin, the categorical's index).
    Late,
    /// Checkpoints something that is not its `Checkpoint`.
    WrongType,
}

/// A checkpoint: the state the rest needs, and the outcome the draw had.
#[derive(Clone, Debug)]
enum Paused {
    First(Recorder<2>, f64),
    Second(Recorder<2>, f64),
}

fn finish<S: Scalar>(k: S, c: S) -> S {
    k * k + c * 3.0 + k * c
}

impl Staged {
    fn new(first: bool, second: bool) -> Self {
        Staged {
            first,
            second,
            bug: Bug::None,
        }
    }

    fn after_first(&self, a: Recorder<2>, k: Recorder<2>) -> stochad::Result<Recorder<2>> {
        let c = bernoulli(-(k * 0.1 + a * 0.3) * 0.5 + 0.8)?;
        if self.second {
            checkpoint(|| Paused::Second(k, c.value));
        }
        Ok(finish(k, c))
    }
}

impl Resumable<2> for Staged {
    type Checkpoint = Paused;

    fn run(&self, [a, b]: [Recorder<2>; 2]) -> stochad::Result<Recorder<2>> {
        let k = categorical(&[a, b, a * b + 0.5])?;
        match self.bug {
            Bug::WrongType => checkpoint(|| 5_u32),
            Bug::Dropped => checkpoint(|| Paused::First(Recorder::from(a.value), k.value)),
            Bug::Late => {}
            _ if self.first => checkpoint(|| Paused::First(a, k.value)),
            _ => {}
        }
        let out = self.after_first(a, k);
        if self.bug == Bug::Late {
            checkpoint(|| Paused::First(a, k.value));
        }
        out
    }

    fn resume(&self, checkpoint: Paused, outcome: f64) -> stochad::Result<f64> {
        let take = |recorded| {
            if self.bug == Bug::IgnoresOutcome {
                recorded
            } else {
                outcome
            }
        };
        Ok(match checkpoint {
            Paused::First(a, k) => self.after_first(a, Recorder::from(take(k)))?.value,
            Paused::Second(k, c) => finish(k.value, take(c)),
        })
    }
}

#[test]
fn resumed_reruns_agree_with_the_exact_gradient() {
    // Both draws resumable, one of them (the other re-run whole), neither; each flip checked
    // against the whole re-run in one case.
    let cases = [
        (
            Staged::new(true, true),
            Coupling::Proportional,
            KeptFlips::PerDirection,
            true,
        ),
        (
            Staged::new(true, false),
            Coupling::Signed,
            KeptFlips::PerDirection,
            false,
        ),
        (
            Staged::new(false, true),
            Coupling::Proportional,
            KeptFlips::PerDirection,
            false,
        ),
        (
            Staged::new(false, false),
            Coupling::Proportional,
            KeptFlips::PerDirection,
            false,
        ),
        (
            Staged::new(true, true),
            Coupling::Signed,
            KeptFlips::Every,
            false,
        ),
        (
            Staged::new(true, true),
            Coupling::Proportional,
            KeptFlips::Shared,
            false,
        ),
        (
            Staged::new(true, true),
            Coupling::Signed,
            KeptFlips::Reservoir(2),
            true,
        ),
        (
            Staged::new(true, false),
            Coupling::Signed,
            KeptFlips::Joint {
                targets: 2,
                keep: 2,
            },
            true,
        ),
        (
            Staged {
                bug: Bug::Dropped,
                ..Staged::new(true, true)
            },
            Coupling::Proportional,
            KeptFlips::PerDirection,
            true,
        ),
    ];
    let at = [0.7, 0.4];
    for (program, coupling, keep, check) in cases {
        let name = format!(
            "first {} second {} {coupling:?} {keep:?}",
            program.first, program.second
        );
        let est = stochad::rerun_resumable(program)
            .at(at)
            .samples(200_000)
            .seed(3)
            .coupling(coupling)
            .keep(keep)
            .check_resumes(check);
        agrees(&name, &est.estimate().unwrap(), two_stage, at);
        // Resuming changes the cost, not the estimate: the same runs as whole re-runs, bit for
        // bit.
        let whole = stochad::rerun(two_stage, two_stage)
            .at(at)
            .seed(3)
            .coupling(coupling)
            .keep(keep);
        for i in 0..200 {
            let (a, b) = (est.run(i).unwrap(), whole.run(i).unwrap());
            assert_eq!(
                a.derivative.map(f64::to_bits),
                b.derivative.map(f64::to_bits),
                "{name}: run {i}"
            );
        }
    }
}

#[test]
fn resumed_reruns_are_the_same_whatever_the_thread_count() {
    same_whatever_the_thread_count(
        &stochad::rerun_resumable(Staged::new(true, true))
            .at([0.7, 0.4])
            .samples(500)
            .seed(9),
    );
    same_whatever_the_thread_count(
        &stochad::rerun_resumable(Staged::new(true, true))
            .at([0.7, 0.4])
            .samples(500)
            .seed(9)
            .coupling(Coupling::Signed)
            .keep(KeptFlips::Reservoir(2)),
    );
}

#[test]
fn a_resume_that_does_not_go_on_as_the_program_is_an_error() {
    let with = |bug| {
        // (Late: no checkpoint of its own after the coin, which would take the draw first.)
        stochad::rerun_resumable(Staged {
            bug,
            ..Staged::new(true, bug != Bug::Late)
        })
        .at([0.7, 0.4])
        .samples(200)
        .seed(2)
    };
    let expect = |bug, what: &str| {
        let e = with(bug).check_resumes(true).estimate();
        assert!(
            matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains(what)),
            "{what}: {e:?}"
        );
    };
    expect(
        Bug::IgnoresOutcome,
        "as the program would with that outcome",
    );
    // The categorical's state offered after the coin: taken as the coin's checkpoint.
    expect(Bug::Late, "as the run did");
    expect(Bug::WrongType, "not its Resumable::Checkpoint");
    // Sample 0 is always checked (here it has a flip); the others when asked.
    assert!(with(Bug::IgnoresOutcome).estimate().is_err());
    let ignores = with(Bug::IgnoresOutcome);
    assert!((1..50).all(|i| ignores.run(i).is_ok()));
    let checked = ignores.check_resumes(true);
    assert!((1..50).any(|i| checked.run(i).is_err()));
}

#[test]
fn the_score_mix_agrees_with_the_exact_gradient() {
    let at = [0.7, 0.4];
    for (name, coupling) in [
        ("proportional", Coupling::Proportional),
        ("signed", Coupling::Signed),
    ] {
        let g = stochad::rerun_resumable(Staged::new(true, true))
            .at(at)
            .samples(200_000)
            .seed(11)
            .coupling(coupling)
            .score_mix(true)
            .estimate()
            .unwrap();
        agrees(&format!("score mix, {name}"), &g, two_stage, at);
    }
    // The mix is of the same runs: their values and the unmixed estimates are the plain ones.
    let plain = stochad::rerun(two_stage, two_stage)
        .at(at)
        .samples(100)
        .seed(12);
    let mixed = stochad::rerun(two_stage, two_stage)
        .at(at)
        .samples(100)
        .seed(12)
        .score_mix(true);
    let (p, m) = (plain.runs().unwrap(), mixed.runs().unwrap());
    assert!(p
        .iter()
        .zip(&m)
        .all(|(p, m)| p.value == m.value && p.pathwise == m.pathwise));
    assert!(p.iter().zip(&m).any(|(p, m)| p.derivative != m.derivative));
    assert!(p.iter().all(|p| p.score == [0.0; 2]));
    assert!(m.iter().any(|m| m.score != [0.0; 2]));
}

#[test]
fn the_score_mix_where_the_score_is_undefined_is_an_error() {
    // Bernoulli(θ) at θ = 0: the outcome 1 has probability 0 and a non-zero derivative, so the
    // score function is biased there (the jumps are not).
    let coin = |[t]: [Recorder; 1]| bernoulli(t);
    let twin = |[t]: [f64; 1]| bernoulli(t);
    let g = stochad::rerun(coin, twin)
        .at([0.0])
        .samples(2000)
        .estimate()
        .unwrap();
    assert!((g.mean[0] - 1.0).abs() < 5.0 * g.stderr[0] + 1e-12, "{g:?}");
    let e = stochad::rerun(coin, twin)
        .at([0.0])
        .samples(2000)
        .score_mix(true)
        .estimate();
    assert!(matches!(e, Err(Error::ScoreAtBoundary { .. })), "{e:?}");
}

#[test]
fn the_output_as_control_variate_agrees_with_the_exact_gradient() {
    let at = [0.7, 0.4];
    for mix in [false, true] {
        let g = stochad::rerun_resumable(Staged::new(true, true))
            .at(at)
            .samples(100_000)
            .seed(13)
            .score_mix(mix)
            .control_variate(2)
            .estimate()
            .unwrap();
        agrees(&format!("output CV, score mix {mix}"), &g, two_stage, at);
    }
    // The control variate takes part: another estimate than the runs' own mean.
    let est = stochad::rerun(two_stage, two_stage)
        .at(at)
        .samples(64)
        .seed(14);
    let (own, cv) = (
        est.estimate().unwrap(),
        est.control_variate(1).estimate().unwrap(),
    );
    assert_eq!(own.value.to_bits(), cv.value.to_bits());
    assert_ne!(own.mean, cv.mean);
    let few = stochad::rerun(two_stage, two_stage)
        .at(at)
        .samples(15)
        .control_variate(4)
        .estimate();
    assert!(matches!(few, Err(Error::InvalidConfig { .. })), "{few:?}");
}
