/**
 * Writing parameter blocks into linear memory: each Word of a step (ctx.ts) becomes one 32-bit
 * little-endian word. Shared by the static module builder (module.ts) and the run-time planner of
 * dynamic-shape artifacts (dynamic/relower.ts), so both resolve addresses the same way.
 */
import type { Word } from './ctx.js';

/** Address resolvers of one layout. */
export interface AddressOf {
  /** Address of runtime buffer `id` (a value or temporary). */
  buf(id: number): number;
  /** Address of constant blob `id`. */
  blob(id: number): number;
  /** Address of the step's scratch buffer. */
  scratch(): number;
}

/**
 * Writes a parameter block.
 * @param dv view of the bytes being built
 * @param at byte offset of the block in `dv`
 * @param words the step's words
 * @param addr address resolvers
 */
export function resolveWords(dv: DataView, at: number, words: readonly Word[], addr: AddressOf): void {
  words.forEach((w, k) => {
    const o = at + k * 4;
    switch (w.k) {
      case 'i': dv.setInt32(o, w.v | 0, true); break;
      case 'f': dv.setFloat32(o, w.v, true); break;
      case 'buf': dv.setUint32(o, addr.buf(w.id) + w.off, true); break;
      case 'blob': dv.setUint32(o, addr.blob(w.id) + w.off, true); break;
      case 'scratch': dv.setUint32(o, addr.scratch(), true); break;
      case 'null': dv.setUint32(o, 0, true); break;
    }
  });
}
