/**
 * Prints one closing line "N passed, M failed, K skipped" for the whole run (CI reads it), after
 * vitest's own summary.
 */
import type { Reporter } from 'vitest/reporters';

interface TaskLike {
  type: string;
  mode?: string;
  result?: { state?: string };
  tasks?: TaskLike[];
}

function count(tasks: readonly TaskLike[], acc: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.tasks) {
      if (t.type !== 'test' && t.result?.state === 'fail' && t.tasks.length === 0) acc.failed++;
      count(t.tasks, acc);
      continue;
    }
    if (t.type !== 'test') continue;
    const s = t.result?.state;
    if (s === 'pass') acc.passed++;
    else if (s === 'fail') acc.failed++;
    else acc.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: readonly TaskLike[] = [], errors: readonly unknown[] = []): void {
    const acc = { passed: 0, failed: 0, skipped: 0 };
    count(files, acc);
    acc.failed += errors.length;
    setImmediate(() => process.stdout.write(`\n${acc.passed} passed, ${acc.failed} failed, ${acc.skipped} skipped\n`));
  }
}
