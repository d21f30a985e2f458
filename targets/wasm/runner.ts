/**
 * Node-side helpers to run a wasm artifact through its own runtime API (model.mjs): what
 * `edgec run --target wasm`, the tests and the bench use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DType, bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../../compiler/ir/dtype.js';
import { Tensor, TensorType, TypedArray, allocData } from '../../compiler/ir/tensor.js';
import { OptionalValue, RtValue, TensorSeq, describeValue } from '../../compiler/ir/value.js';
import { internal, invalid, unsupported } from '../../compiler/errors.js';
import { writeTempArtifact as writeTemp } from '../common/target.js';

/**
 * One input or output of a model: a tensor, or (static artifacts) a sequence / optional compiled
 * with a static structure: `kind`, the shapes of its `elements`, `present` for an optional.
 */
export interface ValueSpec {
  name: string;
  shape: number[];
  dtype: string;
  kind?: string;
  elements?: number[][];
  present?: boolean;
}

/** The runtime API of a wasm artifact (../../shared/CLI.md). */
export interface WasmModel {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  /** Inputs and outputs are typed arrays of their dtype (model.d.ts): f16/bf16 as Uint16Array encodings. */
  run(feeds: Record<string, TypedArray | ArrayLike<number> | { data: TypedArray; shape: number[] }>): Record<string, TypedArray>;
  /** Dynamic-shape artifacts (targets/wasm/dynamic): output shapes of the last run. */
  outputShapes?(): Record<string, number[]>;
  layers?: { name: string; op: string }[];
  profile?(): { name: string; op: string; ms: number }[];
  resetProfile?(): void;
  /** create({ threads }): the threads running each inference; dispose() stops the workers. */
  threads?: number;
  /** create({ threads }): barriers each inference passes (threads.ts barrierCount). */
  barriers?: number;
  dispose?(): void;
  /** Static artifacts: whether model-relaxed.wasm (relaxed-SIMD kernels) runs. */
  relaxedSimd?: boolean;
}

/** Writes artifact files into a fresh temporary folder and returns its path. */
export const writeTempArtifact = (files: ReadonlyMap<string, Uint8Array | string>): string => writeTemp(files, 'edgec-wasm-');

/**
 * Loads an artifact folder (model.mjs + model.wasm) and instantiates the model.
 * @param opts threads: N >= 2 runs model-threads.wasm (artifacts compiled with --threads) on N threads;
 *   relaxedSimd: which module of an artifact with model-relaxed.wasm runs (default: model.mjs decides)
 */
export async function loadWasmArtifact(dir: string, opts: { threads?: number; relaxedSimd?: boolean } = {}): Promise<WasmModel> {
  const mjs = path.join(dir, 'model.mjs');
  if (!fs.existsSync(mjs)) throw invalid('artifact folder has no model.mjs', { file: dir });
  const mod = (await import(pathToFileURL(mjs).href)) as { create(o?: unknown): Promise<WasmModel> };
  return mod.create({ ...((opts.threads ?? 1) > 1 ? { threads: opts.threads } : {}), ...(opts.relaxedSimd !== undefined ? { relaxedSimd: opts.relaxedSimd } : {}) });
}

/**
 * The run() feed of a tensor for an input of dtype `dt`: the tensor's own storage when it has that
 * dtype (f16/bf16: their 16-bit encodings), else its numbers converted as Tensor.set converts them.
 * @param t input tensor
 * @param dt the model input's dtype
 */
export function feedOf(t: Tensor, dt: DType): TypedArray {
  const src = t.dtype === dt ? t : Tensor.from(dt, t.shape, t.dtype === 'i64' || t.dtype === 'u64' ? Array.from(t.data as BigInt64Array) : t.toNumbers());
  if (dt === 'f16' || dt === 'bf16') {
    const enc = dt === 'f16' ? numberToF16Bits : numberToBf16Bits;
    const h = new Uint16Array(src.size);
    for (let i = 0; i < h.length; i++) h[i] = enc(src.get(i));
    return h;
  }
  return src.data as TypedArray;
}

/** A run() output of dtype `dt` as a tensor (f16/bf16 encodings decoded to their values). */
export function tensorOfOutput(dt: DType, shape: number[], data: TypedArray): Tensor {
  if (dt === 'f16' || dt === 'bf16') {
    const dec = dt === 'f16' ? f16BitsToNumber : bf16BitsToNumber;
    const v = allocData(dt, data.length) as Float32Array;
    for (let i = 0; i < v.length; i++) v[i] = dec((data as Uint16Array)[i]!);
    return new Tensor(dt, shape, v);
  }
  return new Tensor(dt, shape, data);
}

/** Runs a loaded model on tensors given in input order; returns tensors of the outputs' dtypes in output order. */
export function runWasmModel(model: WasmModel, inputs: readonly Tensor[]): Tensor[] {
  if (inputs.length !== model.inputs.length) throw invalid(`model has ${model.inputs.length} input(s) but ${inputs.length} were given`);
  const valued = [...model.inputs, ...model.outputs].find((x) => x.kind);
  if (valued) throw unsupported(`"${valued.name}" is a ${valued.kind}: this runs tensors only; run the artifact's model.mjs from JavaScript (runWasmModelValues in Node)`);
  const feeds: Record<string, TypedArray | { data: TypedArray; shape: number[] }> = {};
  const dynamic = typeof model.outputShapes === 'function';
  model.inputs.forEach((x, i) => {
    const data = feedOf(inputs[i]!, x.dtype as DType);
    // a dynamic-shape artifact takes each input's shape with its data
    feeds[x.name] = dynamic ? { data, shape: [...inputs[i]!.shape] } : data;
  });
  let out: Record<string, TypedArray>;
  try {
    out = model.run(feeds);
  } catch (e) {
    // model.mjs validates its inputs (count, sizes, shapes within a dynamic artifact's bound); a
    // trap inside model.wasm is a bug
    if (!(e instanceof Error) || e.constructor.name === 'RuntimeError') throw internal(`model.wasm failed: ${String(e)}`);
    const kind = (e as { kind?: unknown }).kind;
    if (kind === 'unsupported') throw unsupported(`model.mjs: ${e.message}`);
    throw invalid(`model.mjs: ${e.message}`);
  }
  const shapes = dynamic ? model.outputShapes!() : undefined;
  return model.outputs.map((y) => tensorOfOutput(y.dtype as DType, shapes ? shapes[y.name]! : y.shape, out[y.name]!));
}


/** Rejects a call with a sequence / optional value where run() expects a tensor. */
function tensorOnly(v: RtValue, name: string): Tensor {
  if (!(v instanceof Tensor)) throw invalid(`input "${name}" is a tensor, got ${describeValue(v)}`);
  return v;
}

/**
 * Runs a loaded static model on values given in input order: tensors, and TensorSeq / OptionalValue
 * for sequence / optional inputs (their structure must be the compiled one); returns values in
 * output order (sequences as TensorSeq, optionals as OptionalValue).
 */
export function runWasmModelValues(model: WasmModel, inputs: readonly RtValue[]): RtValue[] {
  if (!model.inputs.some((x) => x.kind) && !model.outputs.some((x) => x.kind)) {
    return runWasmModel(model, inputs.map((v, i) => tensorOnly(v, model.inputs[i]?.name ?? String(i))));
  }
  if (inputs.length !== model.inputs.length) throw invalid(`model has ${model.inputs.length} input(s) but ${inputs.length} were given`);
  if (typeof model.outputShapes === 'function') return runDynamicValues(model, inputs);
  const feeds: Record<string, unknown> = {};
  model.inputs.forEach((x, i) => {
    const v = inputs[i]!;
    const dt = x.dtype as DType;
    const content = v instanceof OptionalValue ? v.value : v;
    if (!x.kind) feeds[x.name] = feedOf(tensorOnly(v, x.name), dt);
    else if (content === null) feeds[x.name] = null;
    else if (content instanceof TensorSeq) {
      const els = x.elements ?? [];
      if (content.length !== els.length || content.items.some((t, k) => t.shape.join('x') !== els[k]!.join('x'))) {
        throw invalid(`input "${x.name}" is a ${describeValue(content)} but the model was compiled for ${els.length} element(s) of shapes ${els.map((e) => `[${e.join(',')}]`).join(' ')}`);
      }
      feeds[x.name] = content.items.map((t) => feedOf(t, dt));
    } else feeds[x.name] = feedOf(content, dt);
  });
  const out = callRun(model, feeds);
  return model.outputs.map((y) => {
    const dt = y.dtype as DType;
    const v = out[y.name];
    if (!y.kind) return tensorOfOutput(dt, y.shape, v as TypedArray);
    const els = y.elements ?? [];
    const seq = (): TensorSeq => new TensorSeq(dt, (v as TypedArray[]).map((d, k) => tensorOfOutput(dt, els[k]!, d)));
    const elemType: TensorType = { dtype: dt, shape: els[0] ?? [], ...(y.kind === 'optional' ? {} : { kind: 'sequence' as const }) };
    if (y.kind === 'sequence') return seq();
    if (v === null) return new OptionalValue(elemType, null);
    return new OptionalValue(elemType, y.kind === 'optional' ? tensorOfOutput(dt, els[0]!, v as TypedArray) : seq());
  });
}

/** Calls model.run, mapping a trap to 'internal' and model.mjs's errors to their kind ('unsupported' or 'invalid'). */
function callRun(model: WasmModel, feeds: Record<string, unknown>): Record<string, unknown> {
  try {
    return (model.run as (f: Record<string, unknown>) => Record<string, unknown>)(feeds);
  } catch (e) {
    if (!(e instanceof Error) || e.constructor.name === 'RuntimeError') throw internal(`model.wasm failed: ${String(e)}`);
    if ((e as { kind?: unknown }).kind === 'unsupported') throw unsupported(`model.mjs: ${e.message}`);
    throw invalid(`model.mjs: ${e.message}`);
  }
}

/**
 * runWasmModelValues for a dynamic artifact with sequence / optional inputs or outputs (structure
 * planned per call, targets/wasm/dynamic/sequences.ts): every tensor goes with its shape.
 */
function runDynamicValues(model: WasmModel, inputs: readonly RtValue[]): RtValue[] {
  const feeds: Record<string, unknown> = {};
  const withShape = (t: Tensor, dt: DType) => ({ data: feedOf(t, dt), shape: [...t.shape] });
  model.inputs.forEach((x, i) => {
    const v = inputs[i]!;
    const dt = x.dtype as DType;
    const content = v instanceof OptionalValue ? v.value : v;
    if (!x.kind) feeds[x.name] = withShape(tensorOnly(v, x.name), dt);
    else if (content === null) feeds[x.name] = null;
    else if (content instanceof TensorSeq) feeds[x.name] = content.items.map((t) => withShape(t, dt));
    else feeds[x.name] = withShape(content, dt);
  });
  const out = callRun(model, feeds);
  const shapes = model.outputShapes!() as Record<string, unknown>;
  return model.outputs.map((y) => {
    const dt = y.dtype as DType;
    const v = out[y.name];
    const sh = shapes[y.name];
    if (!y.kind) return tensorOfOutput(dt, sh as number[], v as TypedArray);
    const seq = (): TensorSeq => new TensorSeq(dt, (v as TypedArray[]).map((d, k) => tensorOfOutput(dt, (sh as number[][])[k]!, d)));
    if (y.kind === 'sequence') return seq();
    const elemType: TensorType = { dtype: dt, shape: [...y.shape], ...(y.kind === 'optional' ? {} : { kind: 'sequence' as const }) };
    if (v === null) return new OptionalValue(elemType, null);
    return new OptionalValue(elemType, y.kind === 'optional' ? tensorOfOutput(dt, sh as number[], v as TypedArray) : seq());
  });
}
