//! Every `Scalar` method and operator, table-driven, on every number type: its value against
//! the standard library, its derivative (both partials) against central finite differences of
//! the standard library's function, and — for the stochastic triples — its value in alternative
//! worlds (one argument in a world, both in the same world, each in its own world, worlds of two
//! directions). A wrong chain rule in any method (e.g. `tanh`' = 1 + f²) fails here.

use std::ops::{Add, Div, Mul, Sub};

use stochad::sample::bernoulli;
use stochad::triple::{AllWorlds, Backend, Pruned, Smoothed, SmoothedPert};
use stochad::{
    with_run, DualNumber, Pathwise, Result, Scalar, ScoreFunction, StochasticTriple, World,
};

/// A method or operator of `Scalar`; `x` is the first argument, `y` the second (if any).
#[derive(Clone, Copy, Debug, PartialEq)]
enum M {
    Exp,
    ExpM1,
    Ln,
    Ln1p,
    Log10,
    Sqrt,
    Cbrt,
    Recip,
    Powi(i32),
    Powf,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Sigmoid,
    Hypot,
    Abs,
    Max,
    Min,
    Floor,
    Ceil,
    Round,
    Signum,
    Add,
    Sub,
    Mul,
    Div,
    Neg,
    /// `x + c`, `x − c`, `x · c`, `x / c` with the constant `C`.
    AddC,
    SubC,
    MulC,
    DivC,
    /// `c + x`, `c − x`, `c · x`, `c / x`.
    CAdd,
    CSub,
    CMul,
    CDiv,
    AddAssign,
    SubAssign,
    MulAssign,
    DivAssign,
    AddAssignC,
    SubAssignC,
    MulAssignC,
    DivAssignC,
    Sum,
    Product,
}

/// The constant of the mixed operators.
const C: f64 = 1.7;

/// Applies `m` in the number type `S` (written once, as user programs are).
fn apply<S>(m: M, x: S, y: S) -> S
where
    S: Scalar,
    f64: Add<S, Output = S> + Sub<S, Output = S> + Mul<S, Output = S> + Div<S, Output = S>,
{
    match m {
        M::Exp => x.exp(),
        M::ExpM1 => x.exp_m1(),
        M::Ln => x.ln(),
        M::Ln1p => x.ln_1p(),
        M::Log10 => x.log10(),
        M::Sqrt => x.sqrt(),
        M::Cbrt => x.cbrt(),
        M::Recip => x.recip(),
        M::Powi(n) => x.powi(n),
        M::Powf => x.powf(y),
        M::Sin => x.sin(),
        M::Cos => x.cos(),
        M::Tan => x.tan(),
        M::Asin => x.asin(),
        M::Acos => x.acos(),
        M::Atan => x.atan(),
        M::Atan2 => x.atan2(y),
        M::Sinh => x.sinh(),
        M::Cosh => x.cosh(),
        M::Tanh => x.tanh(),
        M::Sigmoid => x.sigmoid(),
        M::Hypot => x.hypot(y),
        M::Abs => x.abs(),
        M::Max => x.max(y),
        M::Min => x.min(y),
        M::Floor => x.floor(),
        M::Ceil => x.ceil(),
        M::Round => x.round(),
        M::Signum => x.signum(),
        M::Add => x + y,
        M::Sub => x - y,
        M::Mul => x * y,
        M::Div => x / y,
        M::Neg => -x,
        M::AddC => x + C,
        M::SubC => x - C,
        M::MulC => x * C,
        M::DivC => x / C,
        M::CAdd => C + x,
        M::CSub => C - x,
        M::CMul => C * x,
        M::CDiv => C / x,
        M::AddAssign => {
            let mut z = x;
            z += y;
            z
        }
        M::SubAssign => {
            let mut z = x;
            z -= y;
            z
        }
        M::MulAssign => {
            let mut z = x;
            z *= y;
            z
        }
        M::DivAssign => {
            let mut z = x;
            z /= y;
            z
        }
        M::AddAssignC => {
            let mut z = x;
            z += C;
            z
        }
        M::SubAssignC => {
            let mut z = x;
            z -= C;
            z
        }
        M::MulAssignC => {
            let mut z = x;
            z *= C;
            z
        }
        M::DivAssignC => {
            let mut z = x;
            z /= C;
            z
        }
        M::Sum => [x, y, x].into_iter().sum(),
        M::Product => [x, y, x].into_iter().product(),
    }
}

/// The same functions from the standard library alone: the reference for values and, by finite
/// differences, for derivatives.
fn reference(m: M, x: f64, y: f64) -> f64 {
    match m {
        M::Exp => x.exp(),
        M::ExpM1 => x.exp() - 1.0,
        M::Ln => x.ln(),
        M::Ln1p => (1.0 + x).ln(),
        M::Log10 => x.ln() / 10f64.ln(),
        M::Sqrt => x.sqrt(),
        M::Cbrt => x.signum() * x.abs().powf(1.0 / 3.0),
        M::Recip => 1.0 / x,
        M::Powi(n) => x.powf(n as f64),
        M::Powf => x.powf(y),
        M::Sin => x.sin(),
        M::Cos => x.cos(),
        M::Tan => x.sin() / x.cos(),
        M::Asin => x.asin(),
        M::Acos => std::f64::consts::FRAC_PI_2 - x.asin(),
        M::Atan => x.atan(),
        M::Atan2 => x.atan2(y),
        M::Sinh => 0.5 * (x.exp() - (-x).exp()),
        M::Cosh => 0.5 * (x.exp() + (-x).exp()),
        M::Tanh => (x.exp() - (-x).exp()) / (x.exp() + (-x).exp()),
        M::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        M::Hypot => (x * x + y * y).sqrt(),
        M::Abs => x.abs(),
        M::Max => {
            if x >= y {
                x
            } else {
                y
            }
        }
        M::Min => {
            if x <= y {
                x
            } else {
                y
            }
        }
        M::Floor => x.floor(),
        M::Ceil => x.ceil(),
        M::Round => x.round(),
        M::Signum => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        M::Add | M::AddAssign => x + y,
        M::Sub | M::SubAssign => x - y,
        M::Mul | M::MulAssign => x * y,
        M::Div | M::DivAssign => x / y,
        M::Neg => -x,
        M::AddC | M::AddAssignC | M::CAdd => x + C,
        M::SubC | M::SubAssignC => x - C,
        M::MulC | M::MulAssignC | M::CMul => x * C,
        M::DivC | M::DivAssignC => x / C,
        M::CSub => C - x,
        M::CDiv => C / x,
        M::Sum => 2.0 * x + y,
        M::Product => x * x * y,
    }
}

/// Every method with the points `(x, y)` it is checked at (inside its domain, away from kinks),
/// and the world shifts `(hx, hy)` applied there. Kinked functions are also checked where a world
/// crosses the kink.
fn table() -> Vec<(M, f64, f64, f64, f64)> {
    use M::*;
    let (x, y, hx, hy) = (0.37, 0.83, 0.21, -0.13);
    let mut t: Vec<(M, f64, f64, f64, f64)> = [
        Exp,
        ExpM1,
        Ln,
        Ln1p,
        Log10,
        Sqrt,
        Cbrt,
        Recip,
        Powi(3),
        Powi(-2),
        Powi(1),
        Powi(0),
        Powf,
        Sin,
        Cos,
        Tan,
        Asin,
        Acos,
        Atan,
        Atan2,
        Sinh,
        Cosh,
        Tanh,
        Sigmoid,
        Hypot,
        Abs,
        Max,
        Min,
        Add,
        Sub,
        Mul,
        Div,
        Neg,
        AddC,
        SubC,
        MulC,
        DivC,
        CAdd,
        CSub,
        CMul,
        CDiv,
        AddAssign,
        SubAssign,
        MulAssign,
        DivAssign,
        AddAssignC,
        SubAssignC,
        MulAssignC,
        DivAssignC,
        Sum,
        Product,
    ]
    .into_iter()
    .map(|m| (m, x, y, hx, hy))
    .collect();
    t.extend([
        // Negative arguments and the other branch of the kinked functions.
        (Cbrt, -0.37, y, hx, hy),
        (Abs, -0.37, y, 0.7, hy),
        (Max, 0.83, 0.37, -0.6, hy),
        (Min, 0.83, 0.37, -0.6, hy),
        (Atan2, 0.37, -0.83, hx, 0.9),
        (Sigmoid, -1.3, y, 2.5, hy),
        (Tanh, -1.1, y, 0.4, hy),
        (Signum, -0.37, y, 0.7, hy),
        // Steps: derivative 0, worlds that do and do not cross an integer.
        (Floor, 2.37, y, 0.21, hy),
        (Floor, 2.37, y, 0.9, hy),
        (Ceil, 2.37, y, 0.9, hy),
        (Round, 2.37, y, 0.21, hy),
        (Round, 2.37, y, 0.02, hy),
    ]);
    t
}

/// ∂f/∂x and ∂f/∂y of the reference by central differences.
fn finite_differences(m: M, x: f64, y: f64) -> [f64; 2] {
    let h = 1e-6;
    [
        (reference(m, x + h, y) - reference(m, x - h, y)) / (2.0 * h),
        (reference(m, x, y + h) - reference(m, x, y - h)) / (2.0 * h),
    ]
}

#[track_caller]
fn assert_near(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * (1.0 + want.abs()),
        "{what}: {got} vs {want} (diff {:e})",
        got - want
    );
}

/// A number type with two directions whose tangents the test can set and read.
trait Probe: Scalar {
    const NAME: &'static str;
    fn make(value: f64, tangents: [f64; 2]) -> Self;
    fn tangents(&self) -> [f64; 2];
}

macro_rules! dual_probe {
    ($rule:ty, $name:expr) => {
        impl Probe for DualNumber<$rule, 2> {
            const NAME: &'static str = $name;
            fn make(value: f64, tangents: [f64; 2]) -> Self {
                DualNumber::new(value, tangents)
            }
            fn tangents(&self) -> [f64; 2] {
                self.tangent
            }
        }
    };
}
dual_probe!(Pathwise, "dual");
dual_probe!(ScoreFunction, "score");

impl<B: Backend> Probe for StochasticTriple<B, 2> {
    const NAME: &'static str = B::NAME;
    fn make(value: f64, tangents: [f64; 2]) -> Self {
        StochasticTriple::new(value, tangents)
    }
    fn tangents(&self) -> [f64; 2] {
        self.delta
    }
}

/// The value and both partial derivatives of every method in the number type `S`.
fn check_derivatives<S>()
where
    S: Probe,
    f64: Add<S, Output = S> + Sub<S, Output = S> + Mul<S, Output = S> + Div<S, Output = S>,
{
    for (m, x, y, _, _) in table() {
        let what = |part: &str| format!("{} {m:?} at ({x}, {y}): {part}", S::NAME);
        let out = apply(m, S::make(x, [1.0, 0.0]), S::make(y, [0.0, 1.0]));
        assert_near(&what("value"), out.value(), reference(m, x, y), 1e-14);
        let fd = finite_differences(m, x, y);
        let t = out.tangents();
        assert_near(&what("∂/∂x"), t[0], fd[0], 1e-6);
        assert_near(&what("∂/∂y"), t[1], fd[1], 1e-6);
        // Tangents scale linearly (a direction seeded with 2.5 gets 2.5 times the derivative).
        let scaled = apply(m, S::make(x, [2.5, 0.0]), S::make(y, [0.0, 0.0]));
        assert_near(
            &what("2.5·∂/∂x"),
            scaled.tangents()[0],
            times(2.5, fd[0]),
            1e-6,
        );
        // Numbers without worlds have none, and their value in any world is the primal.
        if !S::CARRIES_WORLDS {
            assert!(out.worlds().is_empty());
            assert_eq!(out.value_in(World { dir: 0, id: 0 }), out.value());
            assert_eq!(out.world_values().as_slice(), &[out.value()]);
        }
    }
}

#[test]
fn f64_values_match_the_standard_library() {
    for (m, x, y, _, _) in table() {
        let got = apply(m, x, y);
        assert_near(
            &format!("f64 {m:?} at ({x}, {y})"),
            got,
            reference(m, x, y),
            1e-14,
        );
        assert_eq!(got.worlds().len(), 0);
        assert_eq!(got.world_values().as_slice(), &[got]);
    }
}

#[test]
fn derivatives_of_every_method_on_every_number_type() {
    check_derivatives::<DualNumber<Pathwise, 2>>();
    check_derivatives::<DualNumber<ScoreFunction, 2>>();
    check_derivatives::<StochasticTriple<Pruned, 2>>();
    check_derivatives::<StochasticTriple<AllWorlds, 2>>();
    check_derivatives::<StochasticTriple<Smoothed, 2>>();
}

/// The smoothed backend's payload (the smoothed tangent δ̃ of the jumps behind a value) follows
/// the chain rule like the tangent.
#[test]
fn smoothed_payload_follows_the_chain_rule() {
    for (m, x, y, _, _) in table() {
        let sx = StochasticTriple::<Smoothed, 2> {
            value: x,
            delta: [0.0, 0.0],
            perts: [SmoothedPert::from(0.5), SmoothedPert::default()],
        };
        let sy = StochasticTriple::<Smoothed, 2> {
            value: y,
            delta: [0.0, 0.0],
            perts: [SmoothedPert::default(), SmoothedPert::from(-0.25)],
        };
        let out = apply(m, sx, sy);
        let fd = finite_differences(m, x, y);
        let what = |part: &str| format!("smoothed payload {m:?} at ({x}, {y}): {part}");
        assert_near(
            &what("direction 0"),
            out.perts[0].tangent(),
            0.5 * fd[0],
            1e-6,
        );
        assert_near(
            &what("direction 1"),
            out.perts[1].tangent(),
            -0.25 * fd[1],
            1e-6,
        );
        assert_near(
            &what("derivative_contribution"),
            out.derivative_contribution(0),
            0.5 * fd[0],
            1e-6,
        );
    }
}

type T<B> = StochasticTriple<B, 2>;

/// A zero whose draw opened a world of direction `dir` in which it is 1 (Bernoulli(p) at p = 0
/// with dp/dθ = 1 is 0 and jumps to 1 at rate 1).
fn world_opener<B: Backend>(dir: usize) -> Result<(T<B>, World)> {
    let mut t = [0.0; 2];
    t[dir] = 1.0;
    let k = bernoulli(T::<B>::new(0.0, t))?;
    assert_eq!(k.value(), 0.0);
    let w = k.worlds();
    assert_eq!(w.len(), 1, "the opener carries one world");
    assert_eq!(k.value_in(w[0]), 1.0);
    Ok((k, w[0]))
}

/// Values of every method in alternative worlds of the backend `B`: the method evaluated at the
/// arguments' values in that world.
fn check_worlds<B: Backend>(prunes: bool)
where
    f64: Add<T<B>, Output = T<B>>
        + Sub<T<B>, Output = T<B>>
        + Mul<T<B>, Output = T<B>>
        + Div<T<B>, Output = T<B>>,
{
    for (case, (m, x, y, hx, hy)) in table().into_iter().enumerate() {
        with_run(7, case as u64, || -> Result<()> {
            let what = |setup: &str| format!("{} {m:?} at ({x}, {y}), {setup}", B::NAME);
            let (k1, w1) = world_opener::<B>(0)?;
            let (k2, w2) = world_opener::<B>(0)?;
            let (k3, w3) = world_opener::<B>(1)?;
            assert!(w1 != w2 && w1.dir == w2.dir && w3.dir == 1);
            let var = |v: f64, dir: usize| {
                let mut t = [0.0; 2];
                t[dir] = 1.0;
                T::<B>::new(v, t)
            };
            // The arguments' world values, read back from the arguments themselves.
            let check = |setup: &str, a: T<B>, b: T<B>, worlds: &[World]| {
                let out = apply(m, a, b);
                assert_near(&what(setup), out.value(), reference(m, x, y), 1e-14);
                for &w in worlds {
                    let want = reference(m, a.value_in(w), b.value_in(w));
                    assert_near(&what(setup), out.value_in(w), want, 1e-12);
                }
                for w in out.worlds() {
                    assert!(worlds.contains(&w), "{}: stray world {w:?}", what(setup));
                }
                let vals = out.world_values();
                assert_eq!(vals[0], out.value());
                assert_eq!(vals.len(), 1 + out.worlds().len());
                out
            };
            // x in a world, y not.
            let a = var(x, 0) + k1 * hx;
            let b = var(y, 1);
            check("x in a world", a, b, &[w1]);
            // Both in the same world.
            let b1 = var(y, 1) + k1 * hy;
            check("x and y in one world", a, b1, &[w1]);
            // Worlds of two directions never prune each other.
            let b3 = var(y, 1) + k3 * hy;
            let out = check("worlds of two directions", a, b3, &[w1, w3]);
            for (w, arg) in [(w1, (a.value_in(w1), y)), (w3, (x, b3.value_in(w3)))] {
                let differs = apply::<f64>(m, arg.0, arg.1) != apply::<f64>(m, x, y);
                assert_eq!(
                    out.worlds().contains(&w),
                    differs,
                    "{}: world {w:?}",
                    what("two directions")
                );
            }
            // x and y each in a world of its own (same direction): the pruned backend keeps at
            // most one (and kills the other everywhere), the all-worlds backend both.
            let b2 = var(y, 1) + k2 * hy;
            let (ax, by) = (a.value_in(w1), b2.value_in(w2));
            let out = check("x and y in two worlds", a, b2, &[w1, w2]);
            let differs = [
                apply::<f64>(m, ax, y) != apply::<f64>(m, x, y),
                apply::<f64>(m, x, by) != apply::<f64>(m, x, y),
            ];
            let kept = [out.worlds().contains(&w1), out.worlds().contains(&w2)];
            if prunes {
                assert!(
                    !(kept[0] && kept[1]),
                    "{}: pruned value kept two worlds",
                    what("two worlds")
                );
                // The survivor is one of the worlds in which the output moves.
                assert!(kept[0] <= differs[0] && kept[1] <= differs[1]);
            } else {
                assert_eq!(kept, differs, "{}", what("two worlds"));
            }
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn values_in_alternative_worlds_pruned() {
    check_worlds::<Pruned>(true);
}

#[test]
fn values_in_alternative_worlds_exact() {
    check_worlds::<AllWorlds>(false);
}

/// `without_world` takes exactly one world out of a number (its value there becomes the
/// primal's), with every backend that keeps worlds.
fn takes_one_world_out<B: Backend>() {
    with_run(3, 0, || -> Result<()> {
        let (k1, w1) = world_opener::<B>(0)?;
        let (k3, w3) = world_opener::<B>(1)?;
        let x = T::<B>::new(2.0, [0.5, 0.0]) + k1 * 3.0 + k3 * 5.0;
        assert_eq!((x.value_in(w1), x.value_in(w3)), (5.0, 7.0));
        let y = x.without_world(w1);
        assert_eq!((y.value(), y.delta), (x.value(), x.delta));
        assert_eq!((y.value_in(w1), y.value_in(w3)), (2.0, 7.0));
        assert_eq!(y.worlds().to_vec(), vec![w3], "{}", B::NAME);
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_world_taken_out() {
    takes_one_world_out::<Pruned>();
    takes_one_world_out::<AllWorlds>();
    takes_one_world_out::<stochad::triple::Keep<4, 4>>();
}

/// `reissue_world`: the pruned backend's live world gets a new id with its direction and
/// weight (a number given the old one's value there carries the same derivative estimate), the
/// old one dies; a dead world, and the all-worlds backend's, are not reissued.
#[test]
fn a_world_reissued() {
    with_run(3, 0, || -> Result<()> {
        let (k, w) = world_opener::<Pruned>(0)?;
        let before = k.derivative_contribution(0);
        let new = T::<Pruned>::reissue_world(w).expect("a live world of the pruned backend");
        assert!(new != w && new.dir == w.dir);
        assert_eq!(T::<Pruned>::dead_worlds(&[w, new]).to_vec(), vec![w]);
        assert!(k.worlds().is_empty(), "the old world is dead everywhere");
        let moved = k.with_world(new, 1.0);
        assert_eq!(moved.derivative_contribution(0), before);
        assert_eq!(T::<Pruned>::reissue_world(w), None, "dead");
        let (_, v) = world_opener::<AllWorlds>(0)?;
        assert_eq!(T::<AllWorlds>::reissue_world(v), None);
        Ok(())
    })
    .unwrap();
}

/// `a · b` outside the generic functions, whose `f64: Mul<S>` bound hides `f64: Mul<f64>`.
fn times(a: f64, b: f64) -> f64 {
    a * b
}
