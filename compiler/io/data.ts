/**
 * Data files on the command line: `.pb` (one ONNX TensorProto) and `.npy` (NumPy), chosen by
 * extension. Plus the multi-sample helpers of CLI.md "Data files": a file whose first axis is
 * larger than the model's batch dimension holds many samples; commands run them one batch at a
 * time and stack the results along the first axis.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_LIMITS, EdgecError, ErrorContext, Limits, invalid, ioError, limit, usage } from '../errors.js';
import { Tensor, TensorType, allocData, numel, shapeToString } from '../ir/tensor.js';
import { decodeTensorProtoBytes, encodeTensorProtoBytes } from '../frontends/onnx/tensor-proto.js';
import { sniffFormat } from '../frontends/onnx/import.js';
import { decodeNpy, encodeNpy, isNpy } from './npy.js';

/** Data file formats, by extension. */
export type DataFormat = 'pb' | 'npy';

/**
 * The format of a data file from its extension, or a usage error naming the supported ones.
 * @param file path of the data file
 */
export function dataFormatOf(file: string): DataFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.pb') return 'pb';
  if (ext === '.npy') return 'npy';
  throw usage(`unknown data file format "${ext || '(no extension)'}"`, {
    file,
    hint: 'data files are .pb (ONNX TensorProto) or .npy (NumPy)',
  });
}

/**
 * Decodes data file bytes in the given format.
 * @param bytes file content
 * @param fmt format (from the extension)
 * @param limits size limits
 * @param ctx error context (file)
 */
export function decodeDataBytes(bytes: Uint8Array, fmt: DataFormat, limits: Limits = DEFAULT_LIMITS, ctx: ErrorContext = {}): Tensor {
  if (bytes.length === 0) throw invalid('data file is empty', ctx);
  if (fmt === 'npy') {
    if (!isNpy(bytes)) {
      const what = sniffFormat(bytes);
      throw invalid(`not a NumPy .npy file${what ? `: ${what}` : ' (the "\\x93NUMPY" magic string is missing)'}`, ctx);
    }
    return decodeNpy(bytes, limits, ctx);
  }
  if (isNpy(bytes)) throw invalid('not an ONNX TensorProto (.pb): it looks like a NumPy .npy file; rename it to .npy', ctx);
  const what = sniffFormat(bytes);
  if (what) throw invalid(`not an ONNX TensorProto (.pb): ${what}`, ctx);
  try {
    return decodeTensorProtoBytes(bytes, { limits, ctx }).tensor;
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw limit('not a usable TensorProto: protobuf messages are nested too deeply', ctx);
    }
    throw e;
  }
}

/**
 * Reads a data file (.pb or .npy, by extension) into a tensor.
 * @param file path
 * @param limits size limits (the file may not exceed maxTensorBytes plus a header allowance)
 */
export function readDataFile(file: string, limits: Limits = DEFAULT_LIMITS): Tensor {
  const fmt = dataFormatOf(file);
  const ctx: ErrorContext = { file };
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw invalid('cannot read data file: it does not exist', { ...ctx, hint: 'check the path' });
  }
  if (st.isDirectory()) throw invalid('data file path is a folder', ctx);
  if (!st.isFile()) throw invalid('data file is not a regular file', ctx);
  if (st.size > limits.maxTensorBytes + (1 << 20)) {
    throw limit(`data file is ${st.size} bytes, over the limit of ${limits.maxTensorBytes}`, { ...ctx, hint: 'raise it with --max-tensor-bytes' });
  }
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw invalid(`cannot read data file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, ctx);
  }
  try {
    return decodeDataBytes(bytes, fmt, limits, ctx);
  } catch (e) {
    if (e instanceof EdgecError) throw e.withContext(ctx);
    throw e;
  }
}

/**
 * Encodes a tensor in a data file format.
 * @param t tensor
 * @param fmt 'pb' or 'npy'
 * @param name TensorProto name (pb only)
 */
export function encodeDataFile(t: Tensor, fmt: DataFormat, name = ''): Uint8Array {
  return fmt === 'npy' ? encodeNpy(t) : encodeTensorProtoBytes(t, name);
}

/**
 * Writes a tensor as a data file, format by extension (not atomic; the CLI writes into a staging
 * folder that it renames into place).
 * @param file path ending in .pb or .npy
 * @param t tensor
 * @param name TensorProto name (pb only)
 */
export function writeDataFile(file: string, t: Tensor, name = ''): void {
  const bytes = encodeDataFile(t, dataFormatOf(file), name);
  try {
    fs.writeFileSync(file, bytes);
  } catch (e) {
    throw ioError(`cannot write data file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
}

/** Rows [start, start+count) along axis 0 (copy). */
export function sliceRows(t: Tensor, start: number, count: number): Tensor {
  const row = t.shape.length ? numel(t.shape.slice(1)) : 1;
  const shape = [count, ...t.shape.slice(1)];
  if (Array.isArray(t.data)) return new Tensor(t.dtype, shape, t.data.slice(start * row, (start + count) * row), t.quant);
  const data = t.data.slice(start * row, (start + count) * row);
  return new Tensor(t.dtype, shape, data, t.quant);
}

/**
 * Concatenates tensors along axis 0 (all other dims must match).
 * @param parts tensors of the same dtype and trailing dims
 */
export function stackRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0];
  if (!first) throw invalid('nothing to stack');
  if (parts.length === 1) return first;
  if (first.shape.length === 0) throw invalid('cannot stack scalar outputs along the sample axis');
  const tail = first.shape.slice(1);
  let rows = 0;
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.shape.length !== first.shape.length || p.shape.slice(1).some((d, i) => d !== tail[i])) {
      throw invalid(`cannot stack outputs of shapes ${shapeToString(first.shape)} and ${shapeToString(p.shape)}`);
    }
    rows += p.shape[0]!;
  }
  const shape = [rows, ...tail];
  const data = allocData(first.dtype, numel(shape));
  let off = 0;
  for (const p of parts) {
    if (Array.isArray(data)) (data as string[]).splice(off, p.size, ...(p.data as string[]));
    else (data as Float32Array).set(p.data as Float32Array, off);
    off += p.size;
  }
  return new Tensor(first.dtype, shape, data);
}

/** Batches of inputs to run one at a time. */
export interface BatchPlan {
  /** Inputs of each run, in graph-input order. */
  batches: Tensor[][];
  /** Samples in the data files (1 batch = batch size samples); 0 when the data were a single run. */
  samples: number;
  /** True when the outputs must be stacked along axis 0. */
  stacked: boolean;
}

/**
 * Splits data tensors into runs of the model's batch size (CLI.md "Data files"). A tensor whose
 * shape equals the model input's shape is one run; one whose first axis is a multiple of the
 * model's batch dim (the other dims matching) holds many samples. A tensor of rank one less than
 * the model's input, when the batch dim is 1, is one sample without the batch axis.
 * @param data tensors given by the user, in graph-input order
 * @param types the model's input types (concrete batch dim)
 * @param names input names, for errors
 */
export function planBatches(data: readonly Tensor[], types: readonly TensorType[], names: readonly string[] = []): BatchPlan {
  if (data.length !== types.length) {
    throw usage(`the model has ${types.length} input(s) but ${data.length} data file(s) were given`, {
      hint: 'give one --inputs file per graph input, in graph-input order',
    });
  }
  let runs: number | undefined;
  let samples = 0;
  const prepared: { t: Tensor; per: number; split: boolean }[] = [];
  data.forEach((t0, i) => {
    const ty = types[i]!;
    const nm = names[i] ?? `input ${i}`;
    let t = t0;
    if (t.dtype !== ty.dtype) throw invalid(`data for "${nm}" is ${t.dtype} but the model input is ${ty.dtype}`, { tensor: nm });
    const want = ty.shape;
    const fits = (a: readonly number[]) => a.length === want.length && a.every((d, k) => typeof want[k] !== 'number' || want[k] === d);
    if (t.shape.length === want.length - 1 && want[0] === 1 && fits([1, ...t.shape])) t = t.reshape([1, ...t.shape]);
    if (fits(t.shape)) {
      prepared.push({ t, per: t.shape[0] ?? 1, split: false });
      runs = runs ?? 1;
      return;
    }
    const b = want[0];
    const restOk = t.shape.length === want.length && want.length > 0 && t.shape.slice(1).every((d, k) => typeof want[k + 1] !== 'number' || want[k + 1] === d);
    if (!restOk || typeof b !== 'number' || b <= 0) {
      throw invalid(`data for "${nm}" has shape ${shapeToString(t.shape)} but the model input is ${shapeToString(want)}`, {
        tensor: nm,
        hint: 'the first axis may hold many samples; the other dims must match',
      });
    }
    const n = t.shape[0]!;
    if (n % b !== 0) throw invalid(`data for "${nm}" holds ${n} samples, not a multiple of the model's batch size ${b}`, { tensor: nm });
    const r = n / b;
    if (runs !== undefined && runs !== 1 && runs !== r) {
      throw invalid(`data files hold different numbers of samples (${runs * b} vs ${n})`, { tensor: nm });
    }
    runs = r;
    samples = n;
    prepared.push({ t, per: b, split: true });
  });
  const count = runs ?? 1;
  const stacked = prepared.some((p) => p.split);
  if (stacked && prepared.some((p) => !p.split)) {
    throw invalid('some data files hold many samples and others one batch; give every input the same number of samples');
  }
  const batches: Tensor[][] = [];
  for (let r = 0; r < count; r++) {
    batches.push(prepared.map((p) => (p.split ? sliceRows(p.t, r * p.per, p.per) : p.t)));
  }
  return { batches, samples, stacked };
}

/**
 * Runs `run` on every batch of `plan` and stacks the outputs along axis 0 when the data held
 * many samples.
 * @param plan from planBatches
 * @param run runs one batch, returning outputs in graph-output order
 */
export async function runBatches(plan: BatchPlan, run: (inputs: Tensor[]) => Tensor[] | Promise<Tensor[]>): Promise<Tensor[]> {
  const results: Tensor[][] = [];
  for (const b of plan.batches) results.push(await run(b));
  if (!plan.stacked) return results[0]!;
  const nOut = results[0]!.length;
  const out: Tensor[] = [];
  for (let k = 0; k < nOut; k++) out.push(stackRows(results.map((r) => r[k]!)));
  return out;
}
