//! Inversion of unimodal integer laws (binomial, Poisson) through a table of relative masses
//! built outwards from the mode: starting at the mode keeps every entry representable where a
//! sequential walk from 0 would underflow (`e^−λ` is 0 in f64 for λ > 745), and normalising by
//! the table's own sum makes the cumulative sums end exactly at the total.

/// Entries whose mass relative to the mode falls below this are dropped: together they weigh
/// less than 1e-18 of the total, far below the 2⁻⁵³ resolution of a uniform.
const CUT: f64 = 1e-22;

/// Relative masses `w[i]` of the outcomes `lo + i`, with their running sums.
#[derive(Debug)]
pub(crate) struct Table {
    /// First outcome in the table.
    pub lo: u64,
    /// Relative masses (the mode has 1).
    pub w: Vec<f64>,
    /// `cum[i] = w[0] + … + w[i]`, summed left to right.
    pub cum: Vec<f64>,
}

impl Table {
    /// Builds the table of a law on `0..=max` with mode `mode` and mass ratios
    /// `ratio(k) = P(k + 1) / P(k)`.
    pub(crate) fn new(mode: u64, max: u64, ratio: impl Fn(u64) -> f64) -> Self {
        let mut left = Vec::new();
        let (mut k, mut w) = (mode, 1.0);
        while k > 0 {
            w /= ratio(k - 1);
            if w.is_nan() || w < CUT {
                break;
            }
            left.push(w);
            k -= 1;
        }
        let lo = k;
        left.reverse();
        left.push(1.0);
        let (mut k, mut w) = (mode, 1.0);
        while k < max {
            w *= ratio(k);
            if w.is_nan() || w < CUT {
                break;
            }
            left.push(w);
            k += 1;
        }
        let mut acc = 0.0;
        let cum = left
            .iter()
            .map(|&x| {
                acc += x;
                acc
            })
            .collect();
        Table { lo, w: left, cum }
    }

    /// The sum of all relative masses.
    pub(crate) fn total(&self) -> f64 {
        *self.cum.last().expect("a table holds at least the mode")
    }

    /// Inversion: the smallest outcome whose cumulative sum exceeds `u · total`. Never runs
    /// past the last outcome, even when `u · total` rounds up to the total.
    pub(crate) fn quantile(&self, u: f64) -> f64 {
        let target = u * self.total();
        let i = self
            .cum
            .partition_point(|&c| c <= target)
            .min(self.w.len() - 1);
        (self.lo + i as u64) as f64
    }

    /// The outcomes left after dropping, from each end, outcomes of total probability at most
    /// `tail / 2`.
    pub(crate) fn support(&self, tail: f64) -> Vec<f64> {
        let budget = 0.5 * tail * self.total();
        let (mut a, mut dropped) = (0, 0.0);
        while a + 1 < self.w.len() && dropped + self.w[a] <= budget {
            dropped += self.w[a];
            a += 1;
        }
        let (mut b, mut dropped) = (self.w.len(), 0.0);
        while b > a + 1 && dropped + self.w[b - 1] <= budget {
            dropped += self.w[b - 1];
            b -= 1;
        }
        (a..b).map(|i| (self.lo + i as u64) as f64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_table_inverts_its_cdf() {
        let lambda = 4.5_f64;
        let t = Table::new(4, u64::MAX, |k| lambda / (k + 1) as f64);
        assert_eq!(t.lo, 0);
        // P(0) = e^−λ: u just below it gives 0, just above gives 1.
        let p0 = (-lambda).exp();
        assert_eq!(t.quantile(p0 * (1.0 - 1e-9)), 0.0);
        assert_eq!(t.quantile(p0 * (1.0 + 1e-9)), 1.0);
        // A target that rounds up to the total still lands on the last outcome.
        assert_eq!(t.quantile(1.0), (t.lo + t.w.len() as u64 - 1) as f64);
        let s = t.support(1e-12);
        assert_eq!(s[0], 0.0);
        assert!(s.len() < t.w.len());
    }

    #[test]
    fn large_mean_table_stays_finite() {
        let lambda = 1e5_f64;
        let t = Table::new(100_000, u64::MAX, |k| lambda / (k + 1) as f64);
        assert!(t.lo > 90_000 && t.total().is_finite());
        let median = t.quantile(0.5);
        assert!((median - lambda).abs() < 2.0, "median {median}");
    }
}
