//! [`SplitMix64`]: the seeded generator the benchmarks' synthetic fleets are drawn from, so a
//! seed always builds the same fleet.

/// SplitMix64: small, seedable, good enough for synthetic data (not for anything secret).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded from every part (e.g. the run's seed and a host number).
    pub fn new(parts: &[u64]) -> SplitMix64 {
        let mut rng = SplitMix64(0x9E37_79B9_7F4A_7C15);
        for part in parts {
            rng.0 ^= part.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            rng.next_u64();
        }
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `count` distinct indexes below `n`, in increasing order (a partial Fisher–Yates).
    pub fn subset(&mut self, n: usize, count: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        let count = count.min(n);
        for i in 0..count {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all.sort_unstable();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_subsets_are_distinct_and_sorted() {
        let (mut a, mut b) = (SplitMix64::new(&[1, 2]), SplitMix64::new(&[1, 2]));
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(SplitMix64::new(&[1, 3]).next_u64(), SplitMix64::new(&[1, 2]).next_u64());
        let subset = a.subset(100, 30);
        assert_eq!(subset.len(), 30);
        assert!(subset.windows(2).all(|w| w[0] < w[1]) && subset.iter().all(|i| *i < 100));
        assert!((0.0..1.0).contains(&a.unit()));
    }
}
