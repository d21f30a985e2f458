/**
 * TFLite's own interpreter as the oracle of the TFLite frontend: the Emscripten build shipped in
 * @tensorflow/tfjs-tflite (wasm/tflite_web_api_cc.{js,wasm}, TFLite + its XNNPACK delegate for
 * float graphs) loaded directly in Node, with the wasm binary passed in (no fetch).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../../compiler/ir/tensor.js';
import { DType } from '../../compiler/ir/dtype.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WASM_DIR = path.resolve(here, '../../node_modules/@tensorflow/tfjs-tflite/wasm');

interface EmVector<T> { size(): number; get(i: number): T; delete(): void }
interface EmTensor { name: string; dataType: string; shape: string; data(): ArrayLike<number> & { [i: number]: number } }
interface EmRunner { GetInputs(): EmVector<EmTensor>; GetOutputs(): EmVector<EmTensor>; Infer(): boolean; delete(): void }
interface EmModule {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  TFLiteWebModelRunner: { CreateFromBufferAndOptions(p: number, n: number, o: object): { ok(): boolean; errorMessage(): string; value(): EmRunner } };
}

let modP: Promise<EmModule> | undefined;

/** The TFLite Emscripten module (loaded once per process). */
function tfliteModule(): Promise<EmModule> {
  if (!modP) {
    const req = createRequire(import.meta.url);
    const factory = req(path.join(WASM_DIR, 'tflite_web_api_cc.js')) as (o: object) => Promise<EmModule>;
    modP = factory({ wasmBinary: fs.readFileSync(path.join(WASM_DIR, 'tflite_web_api_cc.wasm')), print: () => {}, printErr: () => {} });
  }
  return modP;
}

/** Whether the TFLite oracle is installed. */
export const HAVE_TFLITE = fs.existsSync(path.join(WASM_DIR, 'tflite_web_api_cc.wasm'));

const DTYPES: Record<string, DType> = { float32: 'f32', int8: 'i8', uint8: 'u8', int32: 'i32', int16: 'i16', bool: 'bool' };

/** Runs a .tflite model on TFLite with `inputs` (graph-input order); returns its outputs. */
export async function runTflite(file: string, inputs: readonly Tensor[]): Promise<Tensor[]> {
  const M = await tfliteModule();
  const bytes = fs.readFileSync(file);
  const p = M._malloc(bytes.length);
  M.HEAPU8.set(bytes, p);
  const r = M.TFLiteWebModelRunner.CreateFromBufferAndOptions(p, bytes.length, { numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024 });
  if (!r.ok()) throw new Error(`TFLite could not load ${file}: ${r.errorMessage()}`);
  const runner = r.value();
  try {
    const ins = runner.GetInputs();
    if (ins.size() !== inputs.length) throw new Error(`TFLite model has ${ins.size()} inputs, got ${inputs.length}`);
    for (let i = 0; i < ins.size(); i++) {
      const d = ins.get(i).data();
      const x = inputs[i]!;
      if (d.length !== x.size) throw new Error(`input ${i}: TFLite expects ${d.length} elements, got ${x.size}`);
      for (let k = 0; k < d.length; k++) d[k] = x.get(k);
    }
    if (!runner.Infer()) throw new Error('TFLite inference failed');
    const outs = runner.GetOutputs();
    const res: Tensor[] = [];
    for (let i = 0; i < outs.size(); i++) {
      const t = outs.get(i);
      const dt = DTYPES[t.dataType];
      if (!dt) throw new Error(`TFLite output type ${t.dataType}`);
      res.push(Tensor.from(dt, t.shape.split(',').map(Number), Array.from(t.data())));
    }
    return res;
  } finally {
    runner.delete();
    M._free(p);
  }
}
