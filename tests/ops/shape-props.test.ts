/**
 * Algebraic properties of the family C data-movement kernels (fast-check): inverse pairs and
 * agreement with naive index formulas written independently here.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import '../../compiler/ops/index.js';
import { getOp, parseAttrs } from '../../compiler/ops/registry.js';
import { Attrs, Node } from '../../compiler/ir/graph.js';
import { Tensor, stridesOf } from '../../compiler/ir/tensor.js';

/** Runs one op's reference kernel directly. */
function ref(op: string, ins: (Tensor | null)[], attrs: Attrs = {}, opset = 18, outputs = 1): Tensor[] {
  const def = getOp('', op)!;
  const node: Node = { id: 0, op, domain: '', inputs: [], outputs: Array.from({ length: outputs }, (_, i) => i), attrs, name: op };
  return def.ref(ins, parseAttrs(def, node, opset), { opset, node });
}

const i64 = (v: number[]) => Tensor.from('i64', [v.length], v.map((k) => BigInt(k)));
const iotaF = (shape: number[]) => Tensor.from('f32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i));
const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

/** Multi-index of flat offset `j` in `shape`. */
function unravel(j: number, shape: readonly number[]): number[] {
  const st = stridesOf(shape);
  return shape.map((_, d) => Math.floor(j / st[d]!) % shape[d]!);
}

describe('family C properties', () => {
  it('Transpose by perm then by its inverse is the identity, and matches the index formula', () => {
    fc.assert(fc.property(shapeArb.chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length }))), ([shape, perm]) => {
      const x = iotaF(shape);
      const [y] = ref('Transpose', [x], { perm });
      const inv = perm.map((_, i) => perm.indexOf(i));
      const [z] = ref('Transpose', [y!], { perm: inv });
      expect(Array.from(z!.data as Float32Array)).toEqual(Array.from(x.data as Float32Array));
      const xs = stridesOf(shape);
      for (let j = 0; j < y!.size; j++) {
        const idx = unravel(j, y!.shape);
        const src = perm.reduce((acc, p, k) => acc + idx[k]! * xs[p]!, 0);
        expect(y!.get(j)).toBe(src);
      }
    }), { numRuns: 60 });
  });

  it('Slice with arbitrary starts/ends/steps matches numpy-style clamping', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -12, max: 12 }), fc.integer({ min: -12, max: 12 }),
      fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0), (n, start, end, step) => {
        const x = iotaF([n]);
        const [y] = ref('Slice', [x, i64([start]), i64([end]), i64([0]), i64([step])]);
        // independent: enumerate python range over normalized/clamped bounds
        const norm = (v: number) => (v < 0 ? v + n : v);
        let s = norm(start);
        let e = norm(end);
        const want: number[] = [];
        if (step > 0) {
          s = Math.max(0, Math.min(n, s));
          e = Math.max(0, Math.min(n, e));
          for (let i = s; i < e; i += step) want.push(i);
        } else {
          s = Math.max(-1, Math.min(n - 1, s));
          e = Math.max(-1, Math.min(n - 1, e));
          for (let i = s; i > e; i += step) want.push(i);
        }
        expect(y!.toNumbers()).toEqual(want);
      }), { numRuns: 300 });
  });

  it('Concat then Split along the same axis round-trips', () => {
    fc.assert(fc.property(shapeArb, fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }), fc.nat(), (shape, sizes, axSeed) => {
      const ax = axSeed % shape.length;
      const parts = sizes.map((s, k) => Tensor.from('f32', shape.map((d, i) => (i === ax ? s : d)),
        Array.from({ length: shape.reduce((a, b, i) => a * (i === ax ? s : b), 1) }, (_, j) => 1000 * k + j)));
      const [c] = ref('Concat', parts, { axis: ax });
      const back = ref('Split', [c!, i64(sizes)], { axis: ax }, 13, sizes.length);
      back.forEach((b, k) => {
        expect(b.shape).toEqual(parts[k]!.shape);
        expect(b.toNumbers()).toEqual(parts[k]!.toNumbers());
      });
    }), { numRuns: 80 });
  });

  it('SpaceToDepth inverts DepthToSpace (DCR)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }),
      (b, c, h, w) => {
        const x = iotaF([2, c * b * b, h, w]);
        const [y] = ref('DepthToSpace', [x], { blocksize: b, mode: 'DCR' });
        const [z] = ref('SpaceToDepth', [y!], { blocksize: b });
        expect(z!.shape).toEqual(x.shape);
        expect(z!.toNumbers()).toEqual(x.toNumbers());
      }), { numRuns: 40 });
  });

  it('Pad (constant) then Slice back recovers the input; edge/reflect/wrap match index formulas', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), (n, pb, pe) => {
      const x = iotaF([n]);
      const [p] = ref('Pad', [x, i64([pb, pe]), Tensor.scalar('f32', -1)], { mode: 'constant' });
      const [back] = ref('Slice', [p!, i64([pb]), i64([pb + n])]);
      expect(back!.toNumbers()).toEqual(x.toNumbers());
      const idx = (i: number) => i - pb;
      const [edge] = ref('Pad', [x, i64([pb, pe])], { mode: 'edge' });
      expect(edge!.toNumbers()).toEqual(Array.from({ length: n + pb + pe }, (_, i) => Math.min(n - 1, Math.max(0, idx(i)))));
      const [wrap] = ref('Pad', [x, i64([pb, pe])], { mode: 'wrap' }, 19);
      expect(wrap!.toNumbers()).toEqual(Array.from({ length: n + pb + pe }, (_, i) => ((idx(i) % n) + n) % n));
      const [refl] = ref('Pad', [x, i64([pb, pe])], { mode: 'reflect' });
      // reflect without repeating the edge: ... 2 1 [0 1 2 3] 2 1 0 1 ...
      const reflect = (i: number): number => (i < 0 ? reflect(-i) : i >= n ? reflect(2 * (n - 1) - i) : i);
      expect(refl!.toNumbers()).toEqual(Array.from({ length: n + pb + pe }, (_, i) => reflect(idx(i))));
    }), { numRuns: 100 });
  });

  it('Gather / GatherElements / ScatterElements agree with direct indexing', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: -4, max: 3 }), { minLength: 1, maxLength: 6 }),
      (r, c, raw) => {
        const x = iotaF([r, c]);
        const ind = raw.map((v) => ((v % c) + c) % c - (v < 0 ? c : 0));
        const [g] = ref('Gather', [x, i64(ind)], { axis: 1 });
        for (let i = 0; i < r; i++) {
          ind.forEach((v, k) => expect(g!.get(i * ind.length + k)).toBe(i * c + ((v + c) % c)));
        }
        const idxT = Tensor.from('i64', [r, 1], Array.from({ length: r }, (_, i) => BigInt(ind[i % ind.length]!)));
        const [ge] = ref('GatherElements', [x, idxT], { axis: 1 });
        const [se] = ref('ScatterElements', [x, idxT, Tensor.from('f32', [r, 1], Array(r).fill(-5))], { axis: 1, reduction: 'add' });
        for (let i = 0; i < r; i++) {
          const col = (ind[i % ind.length]! + c) % c;
          expect(ge!.get(i)).toBe(i * c + col);
          expect(se!.get(i * c + col)).toBe(i * c + col - 5);
        }
      }), { numRuns: 100 });
  });
});
