/**
 * Progress bars on stderr for work that can take more than a couple of seconds (calibration, eval
 * batches, profiling runs, report configurations), drawn with `cli-progress` only when stderr is
 * a terminal; nothing is printed otherwise, so logs and pipes stay clean.
 */
import cliProgress from 'cli-progress';

/** A progress display: phases with a done/total count. */
export interface Progress {
  update(phase: string, done: number, total: number): void;
  /** Ends the bar (and its line), if one was drawn. */
  done(): void;
}

/** A progress sink that draws nothing. */
export const NO_PROGRESS: Progress = { update() {}, done() {} };

/**
 * A progress bar that writes through `write` when `tty` is true (otherwise a no-op). A new phase
 * name ends the previous bar's line and starts a new bar.
 * @param write sink for the terminal output (stderr)
 * @param tty whether the sink is a terminal
 * @param columns terminal width (the bar fits it)
 * @param delayMs a phase shows its bar only once it has run this long (short jobs stay quiet)
 */
export function progressBar(write: (s: string) => void, tty: boolean, columns = 100, delayMs = 1000): Progress {
  if (!tty) return NO_PROGRESS;
  // the minimal stream cli-progress (and node:readline's cursor helpers) write to
  const stream = { isTTY: true, columns, write: (s: string) => (write(s), true) } as unknown as NodeJS.WriteStream;
  let bar: cliProgress.SingleBar | undefined;
  let phase = '';
  let started = 0;
  const end = () => {
    bar?.stop();
    bar = undefined;
    phase = '';
  };
  return {
    update(p, done, total) {
      if (p !== phase) {
        end();
        phase = p;
        started = Date.now();
      }
      if (!bar) {
        if (Date.now() - started < delayMs || (done >= total && total > 0 && delayMs > 0)) return;
        bar = new cliProgress.SingleBar({
          stream,
          format: 'edgec: {phase} [{bar}] {value}/{total} {eta_formatted}',
          barsize: 28,
          barCompleteChar: '#',
          barIncompleteChar: '.',
          hideCursor: false,
          clearOnComplete: false,
          gracefulExit: false,
          etaBuffer: 20,
          formatTime: (t: number) => (Number.isFinite(t) && t > 0 ? `eta ${Math.ceil(t)}s` : ''),
        } as cliProgress.Options);
        bar.start(total, done, { phase: p.padEnd(12).slice(0, 24) });
        return;
      }
      if (bar.getTotal() !== total) bar.setTotal(total);
      bar.update(done);
    },
    done: end,
  };
}
