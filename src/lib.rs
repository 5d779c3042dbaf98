//! stochad: stochastic automatic differentiation (work in progress).
#![warn(missing_docs)]

extern crate self as stochad;

pub mod context;
mod dual;
mod error;
pub mod exact;
pub mod jets;
pub mod sample;
mod scalar;
pub mod scalars;

pub use context::with_run;
pub use dual::Dual;
pub use error::{Error, Result};
pub use scalar::Scalar;
pub use scalars::Scalars;
pub use stochad_macros::Scalars;
