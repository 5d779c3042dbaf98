//! The jets layer's own errors: event files, cuts and clustering inputs. They convert into the
//! crate's [`Error`](crate::Error) (as [`Error::Jets`](crate::Error::Jets)), so `?` works in a
//! program that returns [`stochad::Result`](crate::Result).

use std::fmt;

/// What went wrong in the jets layer.
///
/// ```
/// use stochad::jets::{cluster::{Algorithm, JetDefinition}, JetError};
/// let e = JetDefinition::new(Algorithm::AntiKt, -0.4).unwrap_err();
/// assert!(matches!(e, stochad::Error::Jets(JetError::InvalidParameter { .. })));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum JetError {
    /// An event file is malformed: names the file, the line and what was wrong.
    Parse {
        /// The file (or `"<stream>"`).
        file: String,
        /// 1-based line number (0 when not tied to a line).
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// Opening, reading or writing a file failed, with the path it happened on.
    Io {
        /// The file.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A parameter of the jets layer is outside its domain (jet radius, sharpness α, a cut).
    /// `what` names it.
    InvalidParameter {
        /// Which parameter, e.g. `"jet radius R"`.
        what: &'static str,
        /// The offending value.
        value: f64,
        /// The domain it should lie in.
        expected: &'static str,
    },
    /// An input the jets layer cannot take (a particle on the beam axis, coincident particles,
    /// a request the file format cannot serve, …), with what to do about it.
    InvalidInput {
        /// What was wrong.
        reason: String,
    },
}

/// `Result` with [`JetError`], for the event-file readers and writers.
pub(crate) type Result<T, E = JetError> = std::result::Result<T, E>;

impl JetError {
    /// Builds a [`JetError::InvalidInput`].
    pub(crate) fn input(reason: impl Into<String>) -> Self {
        JetError::InvalidInput {
            reason: reason.into(),
        }
    }
}

/// A [`JetError::InvalidInput`] as the crate's error, for the functions that also meet engine
/// errors (clustering over any [`Scalar`](crate::Scalar)).
pub(crate) fn invalid_input(reason: impl Into<String>) -> crate::Error {
    JetError::input(reason).into()
}

impl fmt::Display for JetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JetError::Parse { file, line, reason } => write!(f, "{file}:{line}: {reason}"),
            JetError::Io { file, source } => write!(f, "{file}: {source}"),
            JetError::InvalidParameter {
                what,
                value,
                expected,
            } => write!(f, "{what} = {value} is outside its domain {expected}"),
            JetError::InvalidInput { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for JetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JetError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<JetError> for crate::Error {
    fn from(e: JetError) -> Self {
        crate::Error::Jets(e)
    }
}
