/**
 * Ranks 0..n-1 drawn with probability ∝ 1 / (rank + 1)^alpha (inverse CDF, binary search): the
 * skewed key popularity of real caches, for the built-in benchmarks and tests.
 */
export function zipfSampler(n: number, alpha: number, random: () => number = Math.random): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** alpha;
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
