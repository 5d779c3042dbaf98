//! The crate's error type.

use std::fmt;

/// Everything that can go wrong in `stochad`: bad distribution parameters, a perturbation that would
/// flip a comparison, misuse of the run context, structures whose shape differs between worlds, and
/// errors of user programs and event files.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A distribution parameter is outside its domain (a probability outside [0, 1], a negative
    /// rate, NaN, …). `what` names the distribution and the parameter.
    InvalidParameter {
        /// Distribution and parameter, e.g. `"bernoulli: p"`.
        what: &'static str,
        /// The offending value.
        value: f64,
        /// The domain the value should lie in, e.g. `"[0, 1]"`.
        expected: &'static str,
    },
    /// Categorical weights are empty, all zero, negative or not finite.
    InvalidWeights {
        /// What was wrong with them.
        reason: String,
    },
    /// A comparison on the primal value would have had a different outcome in an alternative
    /// world carried by a perturbation. Route the branch through [`propagate`](crate::propagate);
    /// if the branch draws random numbers, draw them before it, unconditionally, and pick with
    /// [`select`](crate::select) (see [`propagate`](crate::propagate#a-draw-inside-a-branch)).
    PerturbedComparison {
        /// The comparison operator, e.g. `"<"`.
        op: &'static str,
        /// The primal operands.
        lhs: f64,
        /// The primal operands.
        rhs: f64,
    },
    /// Strict mode ([`Gradient::strict`](crate::estimate::Gradient::strict)): the program read
    /// `.value()` of a number that carries alternative worlds, outside
    /// [`propagate`](crate::propagate). A branch on it would follow the primal in every world and
    /// bias the estimate silently; `file:line:column` is the read.
    PerturbedValueRead {
        /// Source file of the `.value()` call.
        file: &'static str,
        /// Its line.
        line: u32,
        /// Its column.
        column: u32,
        /// The primal value read.
        value: f64,
    },
    /// A sampler or a perturbation was used outside a run set up by an estimator driver or
    /// [`with_run`](crate::with_run).
    NoRunContext {
        /// What was attempted.
        what: &'static str,
    },
    /// A function run by [`propagate`](crate::propagate) returned structures of different shape in
    /// the primal and an alternative world (e.g. a `Vec` of another length).
    ShapeMismatch {
        /// Number of scalars in the primal output.
        primal: usize,
        /// Number of scalars in the alternative output.
        alternative: usize,
    },
    /// A function given to [`propagate`](crate::propagate) drew random numbers; it must be
    /// deterministic so the alternative world can be replayed. Draw before `propagate`,
    /// unconditionally, and choose among the draws with [`select`](crate::select) (see
    /// [`propagate`](crate::propagate#a-draw-inside-a-branch)).
    RandomnessInPropagate,
    /// The exact oracle met a program whose support is too large to enumerate.
    SupportTooLarge {
        /// Number of paths it would have had to enumerate (at least).
        paths: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The score function (or the score mix of a triple) met a draw whose support changes with
    /// the parameters — a parameter on the boundary of its domain that moves (p = 0 or 1,
    /// λ = 0, a zero categorical weight): the outcomes that gain probability are never drawn, so
    /// its estimate would be silently biased. Stochastic triples without the score mix and the
    /// exact oracle take the one-sided derivative there.
    ScoreAtBoundary {
        /// The distribution, e.g. `"bernoulli"`.
        family: &'static str,
    },
    /// A control variate's twin ([`Gradient::control_variate`](crate::estimate::Gradient::control_variate))
    /// returned another value than the program's primal run with the same random numbers: it is
    /// not the same program run with `f64`, and the mean it estimates would not be the program's,
    /// so the controlled estimate would be biased.
    TwinMismatch {
        /// The sample (run index) whose values differ.
        sample: u64,
        /// The program's primal output in that run.
        program: f64,
        /// The twin's output with the same random numbers.
        twin: f64,
    },
    /// A driver was configured with an unusable setting (zero samples, non-finite point, …).
    InvalidConfig {
        /// What was wrong.
        reason: String,
    },
    /// An error of the jets layer (event files, cuts, clustering inputs): see
    /// [`JetError`](crate::jets::JetError).
    Jets(crate::jets::JetError),
    /// An error raised by user code, carried through the drivers.
    Program(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Wraps any error of user code so a program can return `Result<_, stochad::Error>`.
    pub fn program<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Error::Program(Box::new(e))
    }

    /// Builds an [`Error::InvalidConfig`].
    pub fn config(reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParameter {
                what,
                value,
                expected,
            } => {
                write!(f, "{what} = {value} is outside its domain {expected}")
            }
            Error::InvalidWeights { reason } => write!(f, "invalid categorical weights: {reason}"),
            Error::PerturbedComparison { op, lhs, rhs } => write!(
                f,
                "comparison `{lhs} {op} {rhs}` would flip in an alternative world carried by a \
                 perturbation; route this branch through stochad::propagate (or index/select). \
                 If the branch draws random numbers, draw them before the branch, \
                 unconditionally, and pick the result with stochad::select(&[a, b], k): \
                 propagate's function must not draw"
            ),
            Error::PerturbedValueRead {
                file,
                line,
                column,
                value,
            } => write!(
                f,
                "strict mode: `.value()` (= {value}) of a number carrying alternative worlds was \
                 read at {file}:{line}:{column}, outside stochad::propagate; a branch on it \
                 follows the primal in every world and biases the estimate. Move the branch into \
                 stochad::propagate (or index/select), which runs it in every world; to read the \
                 value for logging only, use stochad::scalars::primal"
            ),
            Error::NoRunContext { what } => write!(
                f,
                "{what} needs a run context: call it inside an estimator driver \
                 (stochad::derivative, …) or stochad::with_run"
            ),
            Error::ShapeMismatch {
                primal,
                alternative,
            } if primal == alternative => write!(
                f,
                "propagate: the primal output and an alternative world's both have {primal} \
                 scalars but a different layout (a Vec length or an Option/enum variant differs); \
                 make the output's shape independent of the discrete choice"
            ),
            Error::ShapeMismatch {
                primal,
                alternative,
            } => write!(
                f,
                "propagate: the primal output has {primal} scalars but an alternative world's has \
                 {alternative}; make the output's shape independent of the discrete choice"
            ),
            Error::RandomnessInPropagate => write!(
                f,
                "propagate: the function drew random numbers; it must be deterministic so each \
                 alternative world can be replayed. Draw before propagate, unconditionally (every \
                 branch's draws), and choose among the results inside it or with \
                 stochad::select(&[a, b], k)"
            ),
            Error::SupportTooLarge { paths, limit } => write!(
                f,
                "exact oracle: at least {paths} paths to enumerate, more than the limit {limit}"
            ),
            Error::ScoreAtBoundary { family } => write!(
                f,
                "{family}: a parameter on the boundary of its domain moves, so the support \
                 changes and the score function would miss the outcomes that gain probability \
                 (biased); use a stochastic triple without the score mix, or the exact oracle"
            ),
            Error::TwinMismatch {
                sample,
                program,
                twin,
            } => write!(
                f,
                "control variate: in run {sample} the twin returned {twin} but the program's \
                 primal run gave {program} with the same random numbers; the twin must be the \
                 same program run with f64 (same draws in the same order)"
            ),
            Error::InvalidConfig { reason } => write!(f, "invalid configuration: {reason}"),
            Error::Jets(e) => write!(f, "{e}"),
            Error::Program(e) => write!(f, "program error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Transparent: the jets error's message is this one's, so its source is next.
            Error::Jets(e) => std::error::Error::source(e),
            Error::Program(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
