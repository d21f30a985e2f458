/**
 * Arena planning for the wasm target (TFLite's greedy-by-size arena planner): every runtime buffer
 * has a size and a live range [first, last] in step indices; buffers are placed largest first at
 * the best-fitting gap between already placed buffers whose live ranges overlap. Offsets are
 * aligned (16 bytes by default, enough for v128 loads). Deterministic: ties break by range, then key.
 */

/** A buffer to place: live from step `first` to step `last` inclusive. */
export interface BufferReq {
  key: number;
  bytes: number;
  first: number;
  last: number;
}

export interface MemoryPlan {
  /** key -> byte offset inside the arena. */
  offsets: Map<number, number>;
  /** Arena size in bytes (aligned). */
  arenaBytes: number;
}

/** Rounds `n` up to a multiple of `a` (a power of two). */
export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * Places buffers so that buffers with overlapping live ranges never overlap in memory.
 * @param reqs buffers with sizes and live ranges
 * @param align offset alignment in bytes
 */
export function planMemory(reqs: readonly BufferReq[], align = 16): MemoryPlan {
  const order = [...reqs].sort((a, b) => b.bytes - a.bytes || a.first - b.first || a.last - b.last || a.key - b.key);
  const placed: { off: number; end: number; first: number; last: number }[] = [];
  const offsets = new Map<number, number>();
  let arena = 0;
  for (const r of order) {
    const size = alignUp(Math.max(r.bytes, 1), align);
    const live = placed.filter((p) => p.first <= r.last && r.first <= p.last).sort((a, b) => a.off - b.off || a.end - b.end);
    let best = -1;
    let bestGap = Infinity;
    let cursor = 0;
    for (const p of live) {
      const gap = p.off - cursor;
      if (gap >= size && gap < bestGap) {
        best = cursor;
        bestGap = gap;
      }
      cursor = Math.max(cursor, p.end);
    }
    const off = best >= 0 ? best : cursor;
    placed.push({ off, end: off + size, first: r.first, last: r.last });
    offsets.set(r.key, off);
    arena = Math.max(arena, off + size);
  }
  return { offsets, arenaBytes: arena };
}

/**
 * Checks a plan: no two buffers with overlapping live ranges overlap in memory (used by tests and
 * in debug builds). Returns a message describing the first conflict, or null.
 */
export function checkPlan(reqs: readonly BufferReq[], plan: MemoryPlan): string | null {
  for (let i = 0; i < reqs.length; i++) {
    for (let j = i + 1; j < reqs.length; j++) {
      const a = reqs[i]!;
      const b = reqs[j]!;
      if (a.first > b.last || b.first > a.last) continue;
      const ao = plan.offsets.get(a.key)!;
      const bo = plan.offsets.get(b.key)!;
      if (ao < bo + b.bytes && bo < ao + a.bytes && a.bytes > 0 && b.bytes > 0) {
        return `buffers ${a.key} and ${b.key} overlap in time and memory`;
      }
    }
  }
  return null;
}

/**
 * Step ranges [loop step, its end step] of the loops of a step list (control steps, ctx.ts Ctrl),
 * nested loops included.
 * @param steps steps with optional `ctrl` markers
 */
export function loopRanges(steps: readonly { ctrl?: { k: string } }[]): [number, number][] {
  const out: [number, number][] = [];
  const open: { k: string; at: number }[] = [];
  steps.forEach((s, i) => {
    const k = s.ctrl?.k;
    if (k === 'loop' || k === 'if') open.push({ k, at: i });
    else if (k === 'end') {
      const o = open.pop();
      if (o?.k === 'loop') out.push([o.at, i]);
    }
  });
  return out;
}

/**
 * Live range of a buffer with loops: a buffer used inside a loop and also outside it (a value read
 * by the loop body, a loop-carried or scan-output buffer) must keep its memory over every iteration,
 * so its range grows to cover the whole loop; buffers used only within one iteration keep theirs.
 * @returns the extended [first, last]
 */
export function extendOverLoops(first: number, last: number, loops: readonly [number, number][]): [number, number] {
  let changed = true;
  while (changed) {
    changed = false;
    for (const [b, e] of loops) {
      if (first <= e && last >= b && (first < b || last > e) && (first > b || last < e)) {
        first = Math.min(first, b);
        last = Math.max(last, e);
        changed = true;
      }
    }
  }
  return [first, last];
}
