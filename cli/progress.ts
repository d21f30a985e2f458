/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (redrawn in place with
 * '\r', at most ~10 times a second); nothing is printed otherwise, so logs and pipes stay clean.
 */

export interface Progress {
  update(phase: string, done: number, total: number): void;
  /** Ends the line (if one was drawn). */
  done(): void;
}

/** A progress bar that writes to `write` when `tty` is true (otherwise a no-op). */
export function progressBar(write: (s: string) => void, tty: boolean, width = 28, now: () => number = Date.now): Progress {
  let drawn = false;
  let last = -Infinity;
  let lastPhase = '';
  let lastLen = 0;
  return {
    update(phase, done, total) {
      if (!tty) return;
      const t = now();
      const finished = total > 0 && done >= total;
      if (phase === lastPhase && !finished && t - last < 100) return;
      last = t;
      lastPhase = phase;
      const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
      const n = Math.round(f * width);
      const line = `edgec: ${phase.padEnd(12).slice(0, 24)} [${'#'.repeat(n)}${'.'.repeat(width - n)}] ${done}/${total}`;
      write(`\r${line}${' '.repeat(Math.max(0, lastLen - line.length))}`);
      lastLen = line.length;
      drawn = true;
    },
    done() {
      if (drawn) write('\n');
      drawn = false;
      lastLen = 0;
      lastPhase = '';
    },
  };
}
