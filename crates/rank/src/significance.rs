//! Distribution-free statistics: how sure a comparison of two locations is.
//!
//! Round-trip times on a real player's network are not normal: most samples sit near the
//! path's floor, and a radio retransmission, a queue or a shared congestion episode adds tens
//! or hundreds of milliseconds to a few of them. A mean and a standard error would be pulled
//! by those few, so nothing here assumes a distribution:
//!
//! - **The median's interval** comes from order statistics: whatever the distribution, the
//!   number of samples below the true median is Binomial(n, ½), so `[x₍ₖ₎, x₍ₙ₊₁₋ₖ₎]` covers it
//!   with probability `1 − 2·P(B ≤ k−1)`, computed exactly ([`median_interval`]). It needs 6
//!   samples for 95 %, 8 for 99 %; with fewer the interval is `[min, max]` and says its lower
//!   coverage.
//! - **Two locations are compared on paired differences** ([`pair_differences`]): a probe to
//!   each, sent within [`PAIR_WINDOW_US`] of each other, crosses the player's last hop at the
//!   same moment, so a shared congestion episode or Wi-Fi stall adds the same delay to both
//!   and cancels in their difference. The median of the differences gets the same
//!   order-statistics interval (the sign test's), and one location is ahead of the other
//!   when that interval excludes zero.
//! - **A loss difference** counts only when Fisher's exact test says it is not chance
//!   ([`fisher_exact`]); **a jitter difference** only when the Mann–Whitney test on the two
//!   sets of consecutive differences says so ([`mann_whitney`]). Both tests are
//!   distribution-free; a location with a few more spikes in this run is not "lossier" than
//!   its neighbour unless the counts are far enough apart.

use serde::{Deserialize, Serialize};

/// Probes to two locations sent at most this far apart form a pair (5 ms): well inside a
/// congestion episode or a radio stall (tens of milliseconds), and wider than the spread of
/// the aligned probes of a handful of contenders at the engine's default 1 ms gap.
pub const PAIR_WINDOW_US: u64 = 5_000;

/// The fewest samples on each side for [`mann_whitney`] to call a difference significant:
/// below this its normal approximation is not trusted, and nothing is significant.
pub const MIN_RANK_TEST_SAMPLES: usize = 8;

/// A confidence interval, in milliseconds, with its exact coverage.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The lower end.
    pub low_ms: f64,
    /// The upper end.
    pub high_ms: f64,
    /// The probability that the interval holds the true value, whatever the distribution
    /// (at least the requested level when there are enough samples; lower with too few).
    pub coverage: f64,
}

impl Interval {
    /// Whether the whole interval is above zero.
    pub fn above_zero(&self) -> bool {
        self.low_ms > 0.0
    }

    /// Whether the whole interval is below zero.
    pub fn below_zero(&self) -> bool {
        self.high_ms < 0.0
    }

    /// Whether the whole interval lies within `±band_ms`.
    pub fn within(&self, band_ms: f64) -> bool {
        self.low_ms >= -band_ms && self.high_ms <= band_ms
    }
}

/// The order-statistic ranks of the median's interval for `n` samples at `level`: the
/// largest `k` (1-based) whose interval `[x₍ₖ₎, x₍ₙ₊₁₋ₖ₎]` covers the median with
/// probability at least `level`, and that coverage. With too few samples for the level,
/// `k = 1` (the range) and its lower coverage. `None` without samples.
pub fn median_ranks(n: usize, level: f64) -> Option<(usize, f64)> {
    if n == 0 {
        return None;
    }
    let alpha = (1.0 - level).clamp(0.0, 1.0);
    // P(B = j) for B ~ Binomial(n, ½), in logs so that large n does not underflow at once.
    let mut ln_pmf = -(n as f64) * std::f64::consts::LN_2;
    let mut tail = 0.0_f64;
    let mut best: Option<(usize, f64)> = None;
    for j in 0..n.div_ceil(2) {
        tail += ln_pmf.exp();
        let coverage = (1.0 - 2.0 * tail).max(0.0);
        if best.is_none() {
            // k = 1 always exists: the range, whatever its coverage.
            best = Some((1, coverage));
        } else if 2.0 * tail <= alpha {
            best = Some((j + 1, coverage));
        }
        if 2.0 * tail > alpha {
            break;
        }
        ln_pmf += ((n - j) as f64 / (j + 1) as f64).ln();
    }
    best
}

/// The distribution-free interval for the median of `n` values, given the `k`-th smallest
/// (1-based) by `kth`.
pub fn median_interval(
    n: usize,
    level: f64,
    kth: impl Fn(usize) -> Option<f64>,
) -> Option<Interval> {
    let (k, coverage) = median_ranks(n, level)?;
    Some(Interval {
        low_ms: kth(k)?,
        high_ms: kth(n + 1 - k)?,
        coverage,
    })
}

/// The interval of the median of `values` at `level`, when there are enough of them for that
/// level (its coverage is at least `level`), with the median itself.
pub fn median_with_interval(values: &[f64], level: f64) -> Option<(f64, Interval)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let interval = median_interval(sorted.len(), level, |k| sorted.get(k - 1).copied())
        .filter(|i| i.coverage >= level)?;
    Some((sorted_median(&sorted)?, interval))
}

/// The median of sorted values (the lower middle one, as the workspace's nearest rank).
pub fn sorted_median(sorted: &[f64]) -> Option<f64> {
    (!sorted.is_empty()).then(|| sorted[(sorted.len() - 1) / 2])
}

/// Pairs probes of two locations sent close in time and returns the differences `b − a`, in
/// milliseconds. Each input is `(send instant in µs, round-trip time in ms)`, sorted by send
/// instant; each probe is used at most once, matched greedily in time order with the other
/// side's nearest unmatched probe within `window_us`.
pub fn pair_differences(a: &[(u64, f64)], b: &[(u64, f64)], window_us: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (ta, ra) = a[i];
        let (tb, rb) = b[j];
        if ta.abs_diff(tb) <= window_us {
            out.push(rb - ra);
            i += 1;
            j += 1;
        } else if ta < tb {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Fisher's exact test, two-sided: the probability, if both locations lose probes at the same
/// rate, of a split of the losses at least as uneven as `a_lost` of `a_total` against
/// `b_lost` of `b_total`. 1 when there is nothing to compare.
pub fn fisher_exact(a_lost: u32, a_total: u32, b_lost: u32, b_total: u32) -> f64 {
    let (a_lost, b_lost) = (a_lost.min(a_total), b_lost.min(b_total));
    let n = (a_total + b_total) as usize;
    let lost = (a_lost + b_lost) as usize;
    if n == 0 || lost == 0 || lost == n {
        return 1.0;
    }
    let mut ln_fact = Vec::with_capacity(n + 1);
    ln_fact.push(0.0_f64);
    for i in 1..=n {
        ln_fact.push(ln_fact[i - 1] + (i as f64).ln());
    }
    let ln_choose = |n: usize, k: usize| ln_fact[n] - ln_fact[k] - ln_fact[n - k];
    let rows = a_total as usize;
    // P(X = x): x of the `lost` losses fall in a's `rows` probes.
    let p =
        |x: usize| (ln_choose(lost, x) + ln_choose(n - lost, rows - x) - ln_choose(n, rows)).exp();
    let observed = p(a_lost as usize);
    let lowest = lost.saturating_sub(n - rows);
    let highest = lost.min(rows);
    let total: f64 = (lowest..=highest)
        .map(p)
        .filter(|&q| q <= observed * (1.0 + 1e-9))
        .sum();
    total.min(1.0)
}

/// The Mann–Whitney (Wilcoxon rank-sum) test, two-sided, with ties and a continuity
/// correction: the probability, if both sets come from one distribution, of ranks at least
/// as far apart as these. `None` with fewer than [`MIN_RANK_TEST_SAMPLES`] values on a side.
#[allow(clippy::many_single_char_names)] // the textbook's names: n, u, z, ...
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<f64> {
    let (n1, n2) = (a.len(), b.len());
    if n1 < MIN_RANK_TEST_SAMPLES || n2 < MIN_RANK_TEST_SAMPLES {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut rank_sum_a = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0.total_cmp(&all[i].0).is_eq() {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_sum_a += all[i..=j].iter().filter(|x| x.1).count() as f64 * rank;
        i = j + 1;
    }
    let (f1, f2, nf) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_sum_a - f1 * (f1 + 1.0) / 2.0;
    let mean = f1 * f2 / 2.0;
    let var = f1 * f2 / 12.0 * ((nf + 1.0) - ties / (nf * (nf - 1.0)));
    if var <= 0.0 {
        return Some(1.0);
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    Some(erfc(z / std::f64::consts::SQRT_2).min(1.0))
}

/// The two-sided p-value of the rank-sum test that `b` and `a` come from one distribution:
/// exact (by counting every arrangement of the ranks) when there are no ties and
/// `a.len() × b.len() ≤ 1000`, else [`mann_whitney`]'s normal approximation (`None` when it
/// has too few values). Distribution-free; with 5 samples each, all of one above all of the
/// other gives p = 2/252 ≈ 0.008.
pub fn rank_sum_p(a: &[f64], b: &[f64]) -> Option<f64> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(f64::total_cmp);
    let tied = all.windows(2).any(|w| w[0].total_cmp(&w[1]).is_eq());
    if tied || n1 * n2 > 1000 {
        return mann_whitney(a, b);
    }
    // U = the number of (x in a, y in b) pairs with x > y.
    let u: usize = a.iter().map(|x| b.iter().filter(|y| x > *y).count()).sum();
    // counts[j][u]: arrangements of i values of a and j of b with statistic u, row by row.
    let max = n1 * n2;
    let mut prev: Vec<Vec<f64>> = vec![vec![0.0; max + 1]; n2 + 1];
    for row in &mut prev {
        row[0] = 1.0;
    }
    for i in 1..=n1 {
        let mut next: Vec<Vec<f64>> = vec![vec![0.0; max + 1]; n2 + 1];
        next[0][0] = 1.0;
        for j in 1..=n2 {
            for v in 0..=i * j {
                // The largest value is from a (it beats all j of b) or from b.
                let from_a = if v >= j { prev[j][v - j] } else { 0.0 };
                next[j][v] = from_a + next[j - 1][v];
            }
        }
        prev = next;
    }
    let counts = &prev[n2];
    let total: f64 = counts.iter().sum();
    let below: f64 = counts[..=u].iter().sum();
    let above: f64 = counts[u..].iter().sum();
    Some((2.0 * below.min(above) / total).min(1.0))
}

/// The complementary error function, within 1.2 × 10⁻⁷ (Numerical Recipes' Chebyshev fit).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ranks_match_the_binomial_tables() {
        // n = 5: even the range covers only 1 − 2/32 = 93.75 %.
        let (k, c) = median_ranks(5, 0.95).unwrap();
        assert_eq!(k, 1);
        assert!((c - 0.9375).abs() < 1e-12);
        // n = 6: the range covers 1 − 2/64 = 96.875 % ≥ 95 %.
        let (k, c) = median_ranks(6, 0.95).unwrap();
        assert_eq!(k, 1);
        assert!((c - 0.968_75).abs() < 1e-12);
        // n = 20 at 95 %: k = 6 (the sign test's table), coverage 95.86 %.
        let (k, c) = median_ranks(20, 0.95).unwrap();
        assert_eq!(k, 6);
        assert!((c - 0.958_61).abs() < 1e-4, "{c}");
        // n = 40: k = 14.
        assert_eq!(median_ranks(40, 0.95).unwrap().0, 14);
        // Large n does not underflow into nonsense: k ≈ n/2 − 0.98 √n.
        let (k, c) = median_ranks(10_000, 0.95).unwrap();
        assert!((4_900..=4_903).contains(&k), "{k}");
        assert!(c >= 0.95);
        assert_eq!(median_ranks(0, 0.95), None);
    }

    #[test]
    fn the_median_interval_covers_at_its_stated_rate() {
        // A deterministic check of coverage on a heavy-tailed distribution: 2,000 trials of 20
        // samples from a pseudo-random mixture; the true median is known (0.5 quantile of
        // the mixture by construction: symmetric around 30 before the spikes, spikes only
        // push upward on 10 %, so take it empirically from a large sample).
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut draw = || {
            let base = 30.0 + 6.0 * (next() - 0.5);
            if next() < 0.1 {
                base + 120.0 * next()
            } else {
                base
            }
        };
        let mut big: Vec<f64> = (0..200_001).map(|_| draw()).collect();
        big.sort_by(f64::total_cmp);
        let truth = big[100_000];
        let mut covered = 0;
        for _ in 0..2_000 {
            let mut xs: Vec<f64> = (0..20).map(|_| draw()).collect();
            xs.sort_by(f64::total_cmp);
            let i = median_interval(xs.len(), 0.95, |k| xs.get(k - 1).copied()).unwrap();
            if i.low_ms <= truth && truth <= i.high_ms {
                covered += 1;
            }
        }
        // 95.86 % stated; 2,000 trials give a standard error of 0.45 %.
        assert!(covered >= 1_880, "covered {covered} of 2000");
    }

    #[test]
    fn pairs_are_matched_in_time_within_the_window() {
        let a = [(0, 30.0), (20_000, 31.0), (40_000, 90.0), (60_000, 30.0)];
        let b = [
            (1_000, 38.0),
            (21_000, 39.0),
            (41_000, 98.0),
            (70_000, 38.0),
        ];
        // The last b probe is 10 ms from the last a probe: unpaired.
        assert_eq!(pair_differences(&a, &b, 5_000), vec![8.0, 8.0, 8.0]);
        assert!(pair_differences(&a, &[], 5_000).is_empty());
    }

    #[test]
    fn fisher_exact_matches_known_values() {
        // The lady tasting tea: 3 of 4 against 1 of 4 gives p = 0.4857.
        assert!((fisher_exact(3, 4, 1, 4) - 0.485_714).abs() < 1e-5);
        // 14.9 % vs 7.0 % of 47 and 43 probes: chance.
        assert!(fisher_exact(7, 47, 3, 43) > 0.05);
        // 40 % vs 2 % of 50 each: not chance.
        assert!(fisher_exact(20, 50, 1, 50) < 0.001);
        assert!((fisher_exact(0, 10, 0, 10) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn mann_whitney_tells_a_shift_from_chance() {
        let a: Vec<f64> = (0..12).map(f64::from).collect();
        let same: Vec<f64> = (0..12).map(|i| f64::from(i) + 0.5).collect();
        let shifted: Vec<f64> = (0..12).map(|i| f64::from(i) + 20.0).collect();
        assert!(mann_whitney(&a, &same).unwrap() > 0.5);
        assert!(mann_whitney(&a, &shifted).unwrap() < 0.001);
        assert_eq!(mann_whitney(&a[..5], &shifted), None, "too few to tell");
        // Known value: U = 0 for n1 = n2 = 8 gives p ≈ 0.00094 (normal approximation 0.00104).
        let low: Vec<f64> = (0..8).map(f64::from).collect();
        let high: Vec<f64> = (10..18).map(f64::from).collect();
        let p = mann_whitney(&low, &high).unwrap();
        assert!((0.0009..0.0012).contains(&p), "{p}");
    }

    #[test]
    fn the_exact_rank_sum_test_matches_the_tables() {
        let low = [1.0, 2.0, 3.0, 4.0, 5.0];
        let high = [6.0, 7.0, 8.0, 9.0, 10.0];
        let p = rank_sum_p(&low, &high).unwrap();
        assert!((p - 2.0 / 252.0).abs() < 1e-12, "{p}");
        // 5 against 3, all apart: 2 / C(8, 3) = 2 / 56.
        assert!((rank_sum_p(&high, &low[..3]).unwrap() - 2.0 / 56.0).abs() < 1e-12);
        // Interleaved: nothing to see.
        assert!(rank_sum_p(&[1.0, 3.0, 5.0, 7.0], &[2.0, 4.0, 6.0, 8.0]).unwrap() > 0.5);
        assert_eq!(rank_sum_p(&[], &high), None);
    }

    #[test]
    fn erfc_is_accurate() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }
}
