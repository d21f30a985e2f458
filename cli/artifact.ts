/**
 * Atomic output folders (RELIABILITY.md "Nothing half-written").
 *
 * Everything is written into a hidden staging folder beside the target, each file fsynced, the
 * manifest (sha256 of every file, sorted keys, no timestamps) last; then the staging folder is
 * renamed into place. A previous output folder is replaced only when it is one edgec wrote (an
 * artifact with an edgec manifest.json, or a `run --out` folder holding only output_K files).
 * A failed or killed run leaves the previous output or none, never a mix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { EdgecError, ioError, sanitize, security } from '../compiler/errors.js';

/** What kind of folder is being written (decides which existing folders may be replaced). */
export type OutputKind = 'artifact' | 'outputs';

/**
 * What an artifact folder holds: the model's name (cli/commands.ts modelName), target and
 * precision. An existing artifact with another identity is replaced only with `force`.
 */
export interface ArtifactIdentity {
  /** Model name (the output folder's default stem), recorded as manifest "name". */
  name: string;
  /** Model file's base name, recorded as manifest "model" (matched when an old manifest has no "name"). */
  model: string;
  target: string;
  precision: string;
  /** `--force`: replace an artifact of another model, target or precision. */
  force?: boolean;
}

/** sha256 of bytes, lowercase hex. */
export function sha256(b: Uint8Array | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** JSON with object keys sorted at every level, 2-space indent, trailing newline. */
export function stableJson(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (x && typeof x === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(x as object).sort()) {
        Object.defineProperty(o, k, { value: sortKeys((x as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    return x;
  };
  return `${JSON.stringify(sortKeys(v), null, 2)}\n`;
}

/** True when `p` is `dir` or inside it. */
function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** True when `dir` is an output folder edgec wrote (so it may be replaced). */
export function isEdgecOutput(dir: string, kind: OutputKind): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return false;
  }
  if (entries.length === 0) return true; // an empty folder (made with mkdir) holds nothing to lose
  if (kind === 'outputs') {
    return entries.every((e) => /^output_\d+\.(pb|npy)$/.test(e) || e === 'manifest.json');
  }
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as unknown;
    return !!m && typeof m === 'object' && Object.prototype.hasOwnProperty.call(m, 'edgec');
  } catch {
    return false;
  }
}

/**
 * Checks that `out` may be written: not a file, not a symbolic link, not the folder of an input
 * (nor one containing an input), and, when it exists, an empty folder or one edgec wrote; with
 * `identity`, an existing artifact must be of the same model, target and precision unless forced.
 * @param out output folder path
 * @param inputs paths of the files the command reads (model, data)
 * @param kind artifact or run outputs
 * @param identity what the artifact about to be written holds (compile)
 */
export function checkOutputPath(out: string, inputs: readonly string[], kind: OutputKind, identity?: ArtifactIdentity): void {
  const abs = path.resolve(out);
  const ctx = { file: out };
  if (path.basename(abs) === '' || abs === path.parse(abs).root) throw ioError('output path is the file system root', ctx);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(abs);
  } catch {
    st = undefined;
  }
  if (st?.isSymbolicLink()) {
    throw security('output path is a symbolic link; refusing to follow it', { ...ctx, hint: 'give a real folder path' });
  }
  if (st && !st.isDirectory()) throw ioError('output path exists and is not a folder', { ...ctx, hint: 'choose another -o/--out path' });
  const realOut = path.join(realOrSelf(path.dirname(abs)), path.basename(abs));
  for (const inp of inputs) {
    const ri = realOrSelf(inp);
    const inDir = path.dirname(ri);
    if (realOut === inDir || isInside(ri, realOut) || isInside(path.resolve(inp), abs)) {
      throw ioError("output folder is the input's folder or contains an input file; refusing to replace it", {
        ...ctx,
        hint: 'choose an output folder elsewhere',
      });
    }
  }
  if (st && !isEdgecOutput(abs, kind)) {
    throw ioError(
      kind === 'artifact'
        ? 'output folder exists and is not an edgec artifact (no edgec manifest.json); refusing to replace it'
        : 'output folder exists and holds files other than output_K.pb/.npy; refusing to replace it',
      { ...ctx, hint: 'remove it or choose another path' },
    );
  }
  if (st && identity && !identity.force) checkSameArtifact(abs, identity, out);
}

/** Reads an artifact's manifest.json as an object (undefined for none: an empty folder). */
function readManifest(dir: string): Record<string, unknown> | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as unknown;
    return m && typeof m === 'object' ? (m as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Refuses (exit 8, naming --force) to replace an artifact of another model, target or precision. */
function checkSameArtifact(dir: string, id: ArtifactIdentity, out: string): void {
  const m = readManifest(dir);
  if (!m) return;
  const str = (v: unknown) => (typeof v === 'string' ? v : '?');
  const kinds: string[] = [];
  const diffs: string[] = [];
  const oldName = typeof m['name'] === 'string' ? m['name'] : undefined;
  if (oldName !== undefined ? oldName !== id.name : str(m['model']) !== id.model) {
    kinds.push('model');
    diffs.push(`model "${sanitizeShort(oldName ?? str(m['model']))}", not "${sanitizeShort(id.name)}"`);
  }
  for (const k of ['target', 'precision'] as const) {
    if (str(m[k]) === id[k]) continue;
    kinds.push(k);
    diffs.push(`${k} ${sanitizeShort(str(m[k]))}, not ${id[k]}`);
  }
  if (diffs.length === 0) return;
  throw ioError(`output folder holds an artifact of another ${kinds.join('/')} (${diffs.join('; ')}); refusing to replace it without --force`, {
    file: out,
    hint: 'add --force to replace it, or choose another -o path',
  });
}

/** A manifest value as a short single-line string (it is data). */
function sanitizeShort(s: string): string {
  return sanitize(s, 60);
}

function fsyncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(p, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems cannot fsync folders; the rename still orders the writes
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function writeSynced(file: string, data: Uint8Array | string): void {
  const fd = fs.openSync(file, 'wx', 0o644);
  try {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Validates a relative file name inside an output folder. */
function checkName(name: string): void {
  if (!name || path.isAbsolute(name) || name.split(/[\\/]/).some((p) => p === '..' || p === '' || p === '.') || name.includes('\0')) {
    throw ioError(`internal: bad output file name "${name}"`);
  }
}

/** Removes stale staging folders of killed runs (their process is gone). */
function cleanStale(parent: string, base: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  const prefix = `.${base}.edgec-`;
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const m = /-(?:tmp|old)-(\d+)-[0-9a-f]+$/.exec(e);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (alive && pid !== process.pid) continue;
    const full = path.join(parent, e);
    // A run killed between its two renames leaves the previous output as ".<base>.edgec-old-*":
    // put it back when nothing has replaced it.
    if (e.includes('-old-') && !fs.existsSync(path.join(parent, base))) {
      try {
        fs.renameSync(full, path.join(parent, base));
        continue;
      } catch {
        // fall through to removal
      }
    }
    fs.rmSync(full, { recursive: true, force: true });
  }
}

/** Options of writeOutputFolder. */
export interface WriteFolderOptions {
  /** Files the command read (refused as output location). */
  inputs: readonly string[];
  kind: OutputKind;
  /** Artifact identity checked against an existing artifact folder (compile). */
  identity?: ArtifactIdentity;
  /** Manifest object: `files` (name -> sha256) and `file_bytes` (name -> size) are added; written last as manifest.json. Omit for none. */
  manifest?: Record<string, unknown>;
  /** Test hook: called after each file is written into staging. */
  onFileWritten?: (name: string) => void;
}

/**
 * Writes `files` as the folder `out`, atomically.
 * @param out final folder path
 * @param files file name (relative, may contain '/') -> content
 * @param opts inputs to protect, kind, manifest
 * @returns the manifest written (with `files`), or undefined
 */
export function writeOutputFolder(out: string, files: ReadonlyMap<string, Uint8Array | string>, opts: WriteFolderOptions): Record<string, unknown> | undefined {
  checkOutputPath(out, opts.inputs, opts.kind, opts.identity);
  const abs = path.resolve(out);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  try {
    fs.mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw ioError(`cannot create the output's parent folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: parent });
  }
  cleanStale(parent, base);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = path.join(parent, `.${base}.edgec-tmp-${tag}`);
  const old = path.join(parent, `.${base}.edgec-old-${tag}`);
  let manifestOut: Record<string, unknown> | undefined;
  try {
    fs.mkdirSync(staging);
    const hashes: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    for (const name of [...files.keys()].sort()) {
      checkName(name);
      if (opts.manifest && name === 'manifest.json') throw ioError('internal: a target tried to write manifest.json itself');
      const data = files.get(name)!;
      const full = path.join(staging, name);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      writeSynced(full, data);
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      hashes[name] = sha256(bytes);
      sizes[name] = bytes.length;
      opts.onFileWritten?.(name);
    }
    if (opts.manifest) {
      manifestOut = { ...opts.manifest, files: hashes, file_bytes: sizes };
      writeSynced(path.join(staging, 'manifest.json'), stableJson(manifestOut));
      opts.onFileWritten?.('manifest.json');
    }
    fsyncPath(staging);
    // Re-check right before replacing: the folder may have changed while we worked.
    checkOutputPath(out, opts.inputs, opts.kind, opts.identity);
    let hadOld = false;
    if (fs.existsSync(abs)) {
      fs.renameSync(abs, old);
      hadOld = true;
    }
    try {
      fs.renameSync(staging, abs);
    } catch (e) {
      if (hadOld) fs.renameSync(old, abs);
      throw e;
    }
    fsyncPath(parent);
    if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (e instanceof EdgecError) throw e;
    throw ioError(`cannot write the output folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: out });
  }
  return manifestOut;
}
