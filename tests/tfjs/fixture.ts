/** Writes small TF.js model folders for tests (model.json + shards) into a fresh temp folder. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const created: string[] = [];

/** A fresh temp folder, removed by cleanup(). */
export function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `edgec-tfjs-${tag}-`));
  created.push(d);
  return d;
}

/** Removes the temp folders made by tmpDir (call from afterAll). */
export function cleanup(): void {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Little-endian float32 bytes. */
export function f32Bytes(v: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(v).buffer);
}
export function i32Bytes(v: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Int32Array.from(v).buffer);
}

/** Writes model.json (an object or raw text) and the given shard files; returns the model.json path. */
export function writeModel(dir: string, json: unknown, shards: Record<string, Uint8Array> = {}): string {
  for (const [name, bytes] of Object.entries(shards)) fs.writeFileSync(path.join(dir, name), bytes);
  const file = path.join(dir, 'model.json');
  fs.writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

export interface W { name: string; shape: number[]; dtype?: string; data: ArrayLike<number> }

/** One manifest group in "weights.bin" holding the weights (float32/int32) in order. */
export function manifest(ws: W[], shard = 'weights.bin'): { manifest: unknown[]; bytes: Uint8Array } {
  const parts = ws.map((w) => ((w.dtype ?? 'float32') === 'int32' ? i32Bytes(w.data) : f32Bytes(w.data)));
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.length; }
  return {
    manifest: [{ paths: [shard], weights: ws.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype ?? 'float32' })) }],
    bytes,
  };
}

/** A TF graph-model node in model.json form. */
export function node(name: string, op: string, input: string[] = [], attr: Record<string, unknown> = {}): unknown {
  return { name, op, input, attr };
}
export const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const tfShape = (dims: number[]) => ({ shape: { dim: dims.map((d) => ({ size: String(d) })) } });
