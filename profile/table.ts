/**
 * Plain-text tables for the CLI: columns padded to their widest cell, two spaces apart, and fitted
 * to a line width (100 columns by default; `--wide` lifts the limit). When a table is too wide, the
 * columns marked `shrink` (names, descriptions) are cut from the widest down, keeping the end of a
 * name (its most specific part) behind a leading "~" (or the start of a description, `keepStart`), until
 * the table fits or they reach 8 characters.
 */

/** Default line width of CLI tables (`--wide`: unlimited). */
export const TABLE_WIDTH = 100;

/** Table layout options. */
export interface TableOptions {
  /** Maximum line width; Infinity for none (default TABLE_WIDTH). */
  width?: number;
  /** Indices of the columns that may be shortened to fit (default: none). */
  shrink?: readonly number[];
  /** Shrinkable columns cut at their end ("text~") instead of their start (descriptions). */
  keepStart?: readonly number[];
  /** Right-align these columns (numbers). */
  right?: readonly number[];
}

/** Shortest a shrunk column gets. */
const MIN_SHRUNK = 8;

/** Cuts `s` to `w` characters, keeping its end behind a "~". */
export function cutStart(s: string, w: number): string {
  return s.length <= w ? s : `~${s.slice(s.length - (w - 1))}`;
}

/** Cuts `s` to `w` characters, keeping its start before a "~". */
export function cutEnd(s: string, w: number): string {
  return s.length <= w ? s : `${s.slice(0, w - 1)}~`;
}

/**
 * Lays out `rows` (the first row is the header) as lines of text, each ending with a newline.
 * @param rows cells, row by row
 * @param opts width, shrinkable and right-aligned columns
 */
export function formatTable(rows: readonly (readonly string[])[], opts: TableOptions = {}): string {
  const maxW = opts.width ?? TABLE_WIDTH;
  const ncol = Math.max(0, ...rows.map((r) => r.length));
  const w = new Array<number>(ncol).fill(0);
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i]!, c.length)));
  const total = (): number => w.reduce((a, b) => a + b, 0) + 2 * Math.max(0, ncol - 1);
  const shrink = (opts.shrink ?? []).filter((i) => i < ncol);
  let excess = total() - maxW;
  while (excess > 0) {
    // take one character from the widest shrinkable column still above the floor
    let i = -1;
    for (const k of shrink) if (w[k]! > MIN_SHRUNK && (i < 0 || w[k]! > w[i]!)) i = k;
    if (i < 0) break;
    w[i] = w[i]! - 1;
    excess--;
  }
  const right = new Set(opts.right ?? []);
  const keepStart = new Set(opts.keepStart ?? []);
  const cell = (c: string, i: number, last: boolean): string => {
    const s = keepStart.has(i) ? cutEnd(c, w[i]!) : cutStart(c, w[i]!);
    if (right.has(i)) return s.padStart(w[i]!);
    return last ? s : s.padEnd(w[i]!);
  };
  return rows.map((r) => r.map((c, i) => cell(c, i, i === r.length - 1)).join('  ').trimEnd()).join('\n') + '\n';
}
