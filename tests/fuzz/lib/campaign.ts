/**
 * Fuzz campaign runner: seeded mutation loop with a small feedback corpus (inputs that give a new
 * outcome are kept), outcome classification (ok / EdgecError / crash / hang), masked-crash
 * capture inside op kernels, and greedy minimization of crashing inputs.
 */
import { EdgecError } from '../../../compiler/errors.js';
import { allOps } from '../../../compiler/ops/registry.js';
import '../../../compiler/ops/index.js';
import { Rng } from './rng.js';

export interface Target {
  name: string;
  seeds: Uint8Array[];
  mutate(b: Uint8Array, r: Rng, corpus: readonly Uint8Array[]): Uint8Array;
  /** Runs the parser (and whatever follows it); returns normally or throws. */
  exec(b: Uint8Array): void;
}

export interface Crash {
  target: string;
  signature: string;
  error: string;
  stack: string;
  input: Uint8Array;
  ms: number;
  hang: boolean;
}

/** A non-EdgecError thrown inside an op's attrs/infer/ref/value that the interpreter turned into an EdgecError. */
export interface Masked {
  signature: string;
  op: string;
  phase: string;
  error: string;
  stack: string;
  count: number;
  /** The op's arguments at the failure (input types/values, attributes), for the report. */
  detail: string;
  /** The first input that hit it (target + bytes). */
  target: string;
  input: Uint8Array;
}

export interface Report {
  target: string;
  execs: number;
  ok: number;
  rejected: number;
  /** Normalized EdgecError messages -> count. */
  messages: Map<string, number>;
  crashes: Crash[];
  ms: number;
  corpus: number;
  slowest: number;
}

/** Replaces numbers and quoted names so that one error class counts once. */
export function normalizeMessage(m: string): string {
  return m
    .replace(/["'][\s\S]*["']/g, '"…"') // quoted names (possibly with quotes inside) -> one placeholder
    .replace(/-?\d+(\.\d+)?(e[-+]?\d+)?n?/gi, 'N')
    .replace(/\[[^\]]*\]/g, '[…]')
    .replace(/\b(?=\w*[A-Z_])\w+\b/g, 'ID') // echoed op/dtype/value names (CamelCase, fN, x_y) -> one placeholder
    .slice(0, 160);
}

/** Stable crash identity: error class + first in-repo stack frame. */
export function crashSignature(e: unknown): string {
  const err = e as Error;
  const name = err?.constructor?.name ?? typeof e;
  const frame = (err?.stack ?? '').split('\n').slice(1).find((l) => /compiler\/|tests\/fuzz|node_modules\/protobufjs/.test(l) && !/campaign\.ts/.test(l)) ?? '';
  const where = frame.replace(/^.*\/((?:compiler|node_modules)\/[^):]+):(\d+):\d+.*$/, '$1:$2').trim();
  return `${name} at ${where} (${normalizeMessage(String(err?.message ?? e)).slice(0, 80)})`;
}

// ---- masked crashes inside op kernels --------------------------------------------------------
const masked = new Map<string, Masked>();
let instrumented = false;
let current: { target: string; input: Uint8Array } = { target: '', input: new Uint8Array(0) };

/**
 * Wraps every registered op's hooks so a plain TypeError/RangeError/Error inside them is recorded
 * before the interpreter converts it into an EdgecError (the op is still broken for that input).
 */
export function instrumentOps(): void {
  if (instrumented) return;
  instrumented = true;
  for (const def of allOps() as unknown as Record<string, unknown>[]) {
    for (const phase of ['attrs', 'infer', 'ref', 'value'] as const) {
      const f = def[phase] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof f !== 'function') continue;
      def[phase] = function (this: unknown, ...args: unknown[]) {
        try {
          return f.apply(this, args);
        } catch (e) {
          if (!(e instanceof EdgecError)) {
            const err = e as Error;
            const sig = `${String(def['domain']) ? `${String(def['domain'])}.` : ''}${String(def['name'])}.${phase}: ${crashSignature(e)}`;
            const m = masked.get(sig);
            if (m) m.count++;
            else {
              masked.set(sig, {
                signature: sig, op: String(def['name']), phase, error: `${err?.constructor?.name}: ${err?.message}`,
                stack: (err?.stack ?? '').split('\n').slice(0, 6).join('\n'), count: 1, detail: describeArgs(phase, args), ...current,
              });
            }
          }
          throw e;
        }
      };
    }
  }
}

function describeTensorLike(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  const o = x as { dtype?: string; shape?: readonly unknown[]; data?: ArrayLike<unknown> };
  if (o.data && o.shape) {
    const vals = Array.from({ length: Math.min(8, o.data.length) }, (_, i) => String(o.data![i]));
    return `${o.dtype}[${o.shape.join(',')}]=[${vals.join(',')}${o.data.length > 8 ? ',…' : ''}]`;
  }
  if (o.dtype && o.shape) return `${o.dtype}[${o.shape.join(',')}]`;
  return JSON.stringify(x)?.slice(0, 80) ?? String(x);
}

function describeArgs(phase: string, args: unknown[]): string {
  try {
    if (phase === 'ref') {
      const [ins, a] = args as [unknown[], unknown];
      return `inputs ${ins.map(describeTensorLike).join(', ')}; attrs ${JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 200)}`;
    }
    if (phase === 'infer' || phase === 'value') {
      const [ctx, a] = args as [{ inputs: unknown[]; consts: unknown[]; opset: number }, unknown];
      return `opset ${ctx.opset}; inputs ${ctx.inputs.map(describeTensorLike).join(', ')}; consts ${ctx.consts.map(describeTensorLike).join(', ')}; attrs ${JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 200)}`;
    }
    const [r] = args as [{ node: { attrs: unknown } }];
    return `attrs ${JSON.stringify(r.node.attrs)?.slice(0, 200)}`;
  } catch {
    return '?';
  }
}

export function maskedCrashes(): Masked[] {
  return [...masked.values()];
}

// ---- the loop ----------------------------------------------------------------------------------
type Outcome = { kind: 'ok' } | { kind: 'rejected'; msg: string } | { kind: 'crash'; e: unknown };

function runOne(t: Target, b: Uint8Array): { o: Outcome; ms: number } {
  current = { target: t.name, input: b };
  const t0 = performance.now();
  let o: Outcome;
  try {
    t.exec(b);
    o = { kind: 'ok' };
  } catch (e) {
    o = e instanceof EdgecError ? { kind: 'rejected', msg: normalizeMessage(e.message) } : { kind: 'crash', e };
  }
  return { o, ms: performance.now() - t0 };
}

export interface CampaignOptions {
  iters: number;
  seed: number;
  /** Per-execution time budget; longer runs count as hangs. */
  budgetMs: number;
  /** Stop early after this many distinct crash signatures. */
  maxCrashes?: number;
  /** Wall-clock cap for the whole campaign (ms). */
  maxMs?: number;
}

export function campaign(t: Target, opts: CampaignOptions): Report {
  const r = new Rng(opts.seed);
  const corpus: Uint8Array[] = [...t.seeds];
  const seenOutcomes = new Set<string>();
  const rep: Report = { target: t.name, execs: 0, ok: 0, rejected: 0, messages: new Map(), crashes: [], ms: 0, corpus: 0, slowest: 0 };
  const crashSigs = new Set<string>();
  const t0 = performance.now();
  // Seeds first, unmutated.
  const queue: Uint8Array[] = [...t.seeds];
  for (let i = 0; i < opts.iters; i++) {
    if (opts.maxMs !== undefined && performance.now() - t0 > opts.maxMs) break;
    const input = queue.length ? queue.shift()! : t.mutate(r.pick(corpus), r, corpus);
    const { o, ms } = runOne(t, input);
    rep.execs++;
    rep.slowest = Math.max(rep.slowest, ms);
    let key: string;
    if (o.kind === 'ok') {
      rep.ok++;
      key = 'ok';
    } else if (o.kind === 'rejected') {
      rep.rejected++;
      rep.messages.set(o.msg, (rep.messages.get(o.msg) ?? 0) + 1);
      key = o.msg;
    } else {
      key = crashSignature(o.e);
      if (!crashSigs.has(key)) {
        crashSigs.add(key);
        const err = o.e as Error;
        rep.crashes.push({ target: t.name, signature: key, error: `${err?.constructor?.name}: ${err?.message}`, stack: String(err?.stack ?? ''), input, ms, hang: false });
      }
    }
    if (ms > opts.budgetMs) {
      const sig = `hang (${Math.round(ms)} ms > ${opts.budgetMs} ms) after ${key}`;
      if (!crashSigs.has(`hang:${key}`)) {
        crashSigs.add(`hang:${key}`);
        rep.crashes.push({ target: t.name, signature: sig, error: sig, stack: '', input, ms, hang: true });
      }
    }
    // Feedback: keep inputs whose outcome is new (a cheap stand-in for coverage); successes always help.
    if (!seenOutcomes.has(key) || (o.kind === 'ok' && r.bool(0.05))) {
      seenOutcomes.add(key);
      if (input.length <= 1 << 20 && corpus.length < 2000) corpus.push(input);
    }
    if (opts.maxCrashes !== undefined && rep.crashes.length >= opts.maxCrashes) break;
  }
  rep.ms = performance.now() - t0;
  rep.corpus = corpus.length;
  return rep;
}

/** Whether `b` still crashes with `sig` (hangs: still slower than the budget). */
function stillCrashes(t: Target, b: Uint8Array, c: Crash, budgetMs: number): boolean {
  const { o, ms } = runOne(t, b);
  if (c.hang) return ms > budgetMs;
  return o.kind === 'crash' && crashSignature(o.e) === c.signature;
}

/** Greedy delta minimization (chunk removal, then byte simplification), bounded in executions. */
export function minimize(t: Target, c: Crash, budgetMs: number, maxExecs = 3000): Uint8Array {
  let cur = c.input;
  let execs = 0;
  for (let chunk = Math.max(1, cur.length >> 1); chunk >= 1 && execs < maxExecs; chunk >>= 1) {
    let i = 0;
    while (i < cur.length && execs < maxExecs) {
      const cand = new Uint8Array(cur.length - Math.min(chunk, cur.length - i));
      cand.set(cur.subarray(0, i));
      cand.set(cur.subarray(i + chunk), i);
      execs++;
      if (stillCrashes(t, cand, c, budgetMs)) cur = cand;
      else i += chunk;
    }
  }
  return cur;
}

export function formatReport(rep: Report): string {
  const lines = [
    `${rep.target}: ${rep.execs} execs in ${(rep.ms / 1000).toFixed(1)} s (${Math.round(rep.execs / (rep.ms / 1000))}/s), ` +
      `${rep.ok} accepted, ${rep.rejected} rejected with EdgecError (${rep.messages.size} distinct messages), ` +
      `${rep.crashes.length} crashes/hangs, corpus ${rep.corpus}, slowest ${rep.slowest.toFixed(0)} ms`,
  ];
  for (const c of rep.crashes) lines.push(`  CRASH ${c.signature}\n    ${c.stack.split('\n').slice(0, 5).join('\n    ')}`);
  return lines.join('\n');
}
