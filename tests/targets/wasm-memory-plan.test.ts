/** The wasm arena planner: no overlap of simultaneously live buffers, reuse, alignment, determinism. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BufferReq, checkPlan, planMemory } from '../../targets/wasm/memory-plan.js';

describe('wasm memory plan', () => {
  it('reuses memory of dead buffers (chain of layers needs two buffers)', () => {
    const reqs: BufferReq[] = [0, 1, 2, 3, 4].map((k) => ({ key: k, bytes: 1000, first: k, last: k + 1 }));
    const plan = planMemory(reqs);
    expect(checkPlan(reqs, plan)).toBeNull();
    expect(plan.arenaBytes).toBe(2 * 1008);
    for (const off of plan.offsets.values()) expect(off % 16).toBe(0);
  });

  it('never overlaps buffers that are live at the same time (random live ranges)', () => {
    fc.assert(fc.property(fc.array(fc.record({ bytes: fc.integer({ min: 1, max: 5000 }), first: fc.integer({ min: -1, max: 30 }), len: fc.integer({ min: 0, max: 10 }) }), { maxLength: 40 }), (xs) => {
      const reqs = xs.map((x, key) => ({ key, bytes: x.bytes, first: x.first, last: x.first + x.len }));
      const plan = planMemory(reqs);
      expect(checkPlan(reqs, plan)).toBeNull();
      // never worse than giving every buffer its own memory
      expect(plan.arenaBytes).toBeLessThanOrEqual(reqs.reduce((a, r) => a + Math.ceil(r.bytes / 16) * 16, 0));
      expect(planMemory(reqs)).toEqual(plan);
    }));
  });
});
