//! stochad: stochastic automatic differentiation (work in progress).
#![warn(missing_docs)]

extern crate self as stochad;

pub mod context;
mod dual;
mod error;
pub mod estimate;
pub mod exact;
pub mod jets;
pub mod sample;
mod scalar;
pub mod scalars;
mod score;
pub mod triple;

pub use context::with_run;
pub use dual::Dual;
pub use error::{Error, Result};
pub use estimate::{
    derivative, derivative_with, gradient, gradient_with, Estimate, GradientEstimate,
};
pub use scalar::Scalar;
pub use score::Score;
pub use triple::{ExactTriple, SmoothedTriple, StochasticTriple, Triple};
