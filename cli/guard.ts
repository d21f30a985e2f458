/**
 * The int8 guard on the command line (`edgec compile --int8 --calib FILE [--guard-loss LOSS]`): the
 * check's one-line figure (always), the warning with the worst layers and the command that fixes it
 * (when the check fails), and the manifest's `quantization.check` object. The check itself is
 * quantize/guard.ts.
 */
import { sanitize, usage } from '../compiler/errors.js';
import { GuardFix, Int8Check, boundText, checkLine, fmtDb } from '../quantize/guard.js';

export { DEFAULT_GUARD_LOSS } from '../quantize/guard.js';

/**
 * `--guard-loss` value: a number with 0 < LOSS < 1.
 * @param v option text
 */
export function parseGuardLoss(v: string): number {
  const x = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(x) || x <= 0 || x >= 1) throw usage(`--guard-loss: "${sanitize(v, 40)}": expected a number with 0 < LOSS < 1 (e.g. 0.02)`);
  return x;
}

/** Quotes a command-line word for a POSIX shell when it needs it. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line `argv` (after the program name) with `--keep-float` set to `keep` (any previous
 * --keep-float removed), as one shell line starting with `edgec`.
 * @param argv the arguments the user gave
 * @param keep node names to keep in float
 */
export function fixCommand(argv: readonly string[], keep: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--keep-float') {
      i++;
      continue;
    }
    if (a.startsWith('--keep-float=')) continue;
    out.push(a);
  }
  out.push('--keep-float', keep.join(','));
  return ['edgec', ...out].map(shellWord).join(' ');
}

/** A loss in the check's unit: top-1 agreement for classifiers, SNR otherwise. */
function lossText(c: Int8Check, loss: number): string {
  return c.top1Agreement !== undefined ? `top-1 agreement ${(100 * (1 - loss)).toFixed(1)}%` : `SNR ${fmtDb(-10 * Math.log10(loss))} dB`;
}

/**
 * Lines (without the "edgec: " prefix) for the compile summary: the figure, and when the check
 * failed the warning, the worst layers and the command that fixes it.
 * @param g the guard's result @param argv the user's arguments (for the fix command)
 */
export function guardLines(g: { check: Int8Check; fix?: GuardFix }, argv: readonly string[]): { info: string[]; warn: string[] } {
  const c = g.check;
  const info = [checkLine(c)];
  if (c.pass) return { info, warn: [] };
  const warn = [`int8 check: ${lossText(c, c.loss)} on the held-out samples is below ${boundText(c)} (--guard-loss ${c.maxLoss})`];
  const f = g.fix;
  if (f && f.worst.length > 0) {
    warn.push(`worst layers (${c.top1Agreement !== undefined ? 'top-1 agreement' : 'SNR'} on the calibration samples with only that layer kept float; SNR it loses): ` +
      f.worst.map((w) => `${sanitize(w.node, 60)} (${w.op}) ${lossText(c, w.lossAlone).replace(/^top-1 agreement |^SNR /, '')}` +
        `${w.dropDb !== undefined ? `, ${fmtDb(w.dropDb)} dB` : ''}`).join('; '));
  }
  if (f && f.keep.length > 0) {
    const then = `${c.top1Agreement !== undefined ? `top-1 agreement ${(100 * (f.check.top1Agreement ?? 0)).toFixed(1)}%, ` : ''}SNR ${fmtDb(f.check.snrDb)} dB`;
    warn.push(`${f.check.pass ? 'fix' : 'closest fix found (still below the bound)'}: ${fixCommand(argv, f.keep)}` +
      ` (the layers --keep-float auto:${+f.autoLoss.toPrecision(3)} picks; int8 check with them: ${then})`);
  } else {
    warn.push('no layer set kept float passes the check; try --calibrator percentile|entropy|mse or more calibration data');
  }
  return { info, warn };
}

/** A finite number rounded for the manifest (null for +-Infinity, which JSON cannot hold). */
function num(x: number, digits = 4): number | null {
  return Number.isFinite(x) ? +x.toFixed(digits) : null;
}

function checkJson(c: Int8Check): Record<string, unknown> {
  return {
    samples: c.samples, held_out: c.heldOut,
    metric: c.top1Agreement !== undefined ? 'top1_agreement' : 'snr',
    ...(c.top1Agreement !== undefined ? { top1_agreement: num(c.top1Agreement) } : {}),
    snr_db: num(c.snrDb, 2), relative_error: num(c.relError, 6), loss: num(c.loss, 6), max_loss: c.maxLoss, pass: c.pass,
  };
}

/**
 * The manifest's `quantization.check` object.
 * @param g the guard's result @param calibSamples samples that calibrated
 */
export function guardManifest(g: { check: Int8Check; fix?: GuardFix; calibSamples: number }): Record<string, unknown> {
  return {
    ...checkJson(g.check), calibration_samples: g.calibSamples,
    ...(g.fix ? { fix: { keep_float: g.fix.keep, auto_loss: g.fix.autoLoss, check: checkJson(g.fix.check), worst_layers: g.fix.worst.map((w) => w.node) } } : {}),
  };
}
