import { AdaptiveTinyLfuPolicy } from './src/policy/adaptive_tinylfu_policy.js';
import { MemoryTier } from './src/tiers/memory/memory_tier.js';
const tier = new MemoryTier<number>({ maxEntries: 5, policy: (s) => new AdaptiveTinyLfuPolicy(s, { adaptive: false }), onRemove: (k, c) => process.stdout.write(`-${k}(${c}) `) });
let hits = 0;
for (let r = 0; r < 3; r++) { for (let i = 0; i < 10; i++) { const k = String(i); if (tier.get(k) !== undefined) { hits++; process.stdout.write(`H${k} `); } else tier.set(k, 1, 0, 1); } console.log('\n cycle', r, 'keys', [...tier.keys()].join(',')); }
console.log('hits', hits);
