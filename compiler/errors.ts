/**
 * Typed errors. Every failure the user can cause is an EdgecError with a class that maps to a
 * documented exit code (README "Exit codes"). Anything else reaching the CLI is an internal bug.
 */
export type ErrorKind =
  | 'usage' // bad command line or option value
  | 'invalid' // malformed model, data file or graph
  | 'unsupported' // valid input that edgec cannot handle (op, dtype, opset, attribute value)
  | 'limit' // a configured resource limit was exceeded
  | 'security' // a path escapes the allowed folder, or similar
  | 'numeric' // NaN/Inf weights or calibration data, empty calibration set
  | 'io' // cannot write output
  | 'internal'; // a bug in edgec

export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  usage: 2,
  invalid: 3,
  unsupported: 4,
  limit: 5,
  security: 6,
  numeric: 7,
  io: 8,
  internal: 70,
};

/** Where an error happened: any subset of file, node, op, opset, tensor, pass. */
export interface ErrorContext {
  file?: string;
  nodeIndex?: number;
  node?: string;
  op?: string;
  opset?: number;
  tensor?: string;
  pass?: string;
  hint?: string;
}

/** Strips control characters and truncates, so hostile names cannot mangle a terminal or log line. */
export function sanitize(s: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const clean = String(s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

export class EdgecError extends Error {
  readonly kind: ErrorKind;
  readonly ctx: ErrorContext;
  constructor(kind: ErrorKind, message: string, ctx: ErrorContext = {}) {
    super(message);
    this.kind = kind;
    this.ctx = { ...ctx };
    this.name = 'EdgecError';
  }
  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
  /** Adds context that is not already set (inner context wins), like tract's with_context. */
  withContext(ctx: ErrorContext): EdgecError {
    for (const [k, v] of Object.entries(ctx)) {
      if (v !== undefined && (this.ctx as Record<string, unknown>)[k] === undefined) {
        (this.ctx as Record<string, unknown>)[k] = v;
      }
    }
    return this;
  }
  /** One line: `<what> (file: x, node 3 "conv1", op Conv, opset 13, tensor w) hint: ...` */
  oneLine(): string {
    const c = this.ctx;
    const where: string[] = [];
    if (c.file !== undefined) where.push(`file: ${sanitize(c.file, 200)}`);
    if (c.nodeIndex !== undefined || c.node !== undefined) {
      where.push(`node${c.nodeIndex !== undefined ? ` ${c.nodeIndex}` : ''}${c.node ? ` "${sanitize(c.node)}"` : ''}`);
    }
    if (c.op !== undefined) where.push(`op ${sanitize(c.op)}`);
    if (c.opset !== undefined) where.push(`opset ${c.opset}`);
    if (c.tensor !== undefined) where.push(`tensor "${sanitize(c.tensor)}"`);
    if (c.pass !== undefined) where.push(`pass ${c.pass}`);
    let s = sanitize(this.message, 400);
    if (where.length) s += ` (${where.join(', ')})`;
    if (c.hint) s += `; hint: ${sanitize(c.hint, 200)}`;
    return s;
  }
}

export const invalid = (m: string, c?: ErrorContext) => new EdgecError('invalid', m, c);
export const unsupported = (m: string, c?: ErrorContext) => new EdgecError('unsupported', m, c);
export const usage = (m: string, c?: ErrorContext) => new EdgecError('usage', m, c);
export const limit = (m: string, c?: ErrorContext) => new EdgecError('limit', m, c);
export const security = (m: string, c?: ErrorContext) => new EdgecError('security', m, c);
export const numeric = (m: string, c?: ErrorContext) => new EdgecError('numeric', m, c);
export const ioError = (m: string, c?: ErrorContext) => new EdgecError('io', m, c);
export const internal = (m: string, c?: ErrorContext) => new EdgecError('internal', m, c);

/** Resource limits; each has a CLI flag (--max-*) and a default. */
export interface Limits {
  maxModelBytes: number;
  maxNodes: number;
  maxTensorBytes: number;
  maxTotalBytes: number;
  maxNesting: number;
  maxFoldBytes: number;
  maxJsonBytes: number;
  maxRank: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxModelBytes: 2 * 1024 ** 3 - 1,
  maxNodes: 200_000,
  maxTensorBytes: 1024 ** 3,
  maxTotalBytes: 4 * 1024 ** 3,
  maxNesting: 64,
  maxFoldBytes: 64 * 1024 ** 2,
  maxJsonBytes: 64 * 1024 ** 2,
  maxRank: 16,
};
