//! Two locations 1 ms apart whose noisy samples swap order from run to run: without
//! stickiness the choice flips, with the previous choice remembered it stays put.

use edgegap_rank::{BeaconMeasurement, LocationKey, RankConfig, rank};

use crate::common::beacon;

/// SplitMix64: a tiny seeded generator, so the runs are reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `base` plus uniform noise in `[-spread, spread]`.
    fn around(&mut self, base: f64, spread: f64) -> f64 {
        base + (self.next_f64() * 2.0 - 1.0) * spread
    }
}

const RUNS: usize = 20;
const SAMPLES: usize = 5;
/// Noise of ±1.5 ms: enough to swap 40 and 41 ms, too little to leave the near-tie band
/// (the scores differ by at most 1 + 2 × 1.5 + 0.5 × 3 = 5.5 ms < 40 × 0.2 - 0.3).
const SPREAD: f64 = 1.5;

fn simulated_run(rng: &mut SplitMix) -> Vec<BeaconMeasurement> {
    let mut samples =
        |base: f64| -> Vec<f64> { (0..SAMPLES).map(|_| rng.around(base, SPREAD)).collect() };
    let chicago = samples(40.0);
    let dallas = samples(41.0);
    vec![
        beacon("Chicago", "United States", "c", &chicago),
        beacon("Dallas", "United States", "d", &dallas),
    ]
}

fn winners(seed: u64, sticky: bool) -> Vec<LocationKey> {
    let mut rng = SplitMix(seed);
    let config = RankConfig::default();
    let mut previous: Option<LocationKey> = None;
    let mut winners = Vec::new();
    for _ in 0..RUNS {
        let input = simulated_run(&mut rng);
        let ranking = rank(
            &input,
            &config,
            if sticky { previous.as_ref() } else { None },
        );
        let best = ranking.best().unwrap().key();
        previous = Some(best.clone());
        winners.push(best);
    }
    winners
}

fn flips(w: &[LocationKey]) -> usize {
    w.windows(2).filter(|p| p[0] != p[1]).count()
}

#[test]
fn without_stickiness_the_choice_flips_with_it_it_stays_put() {
    for seed in [1, 2, 3, 42, 2024] {
        let plain = winners(seed, false);
        assert!(
            flips(&plain) >= 2,
            "seed {seed}: expected the plain order to swap back and forth, winners {plain:?}"
        );
        let sticky = winners(seed, true);
        assert_eq!(flips(&sticky), 0, "seed {seed}: sticky winners {sticky:?}");
        // The sticky choice is whoever won the first run.
        assert_eq!(sticky[0], plain[0]);
    }
}
