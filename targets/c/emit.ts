/**
 * The microcontroller C target: optimized graph -> a self-contained C++14 source package (no
 * exceptions, RTTI, heap or OS). The layers are the hls target's (targets/hls/emit.ts `lowerAll`:
 * one config struct + one kernel call per layer, kernels from targets/hls/lib, one definition per
 * op); this file only writes a different top: the layers run one after the other over ONE static
 * arena whose offsets come from the memory planner (targets/wasm/memory-plan.ts, live ranges in
 * layer order), weights are `static const` arrays (flash).
 *
 * API (model.h, callable from C): `edgec_run(in0.., out0..)` on the model's native dtypes (a
 * quantized model whose graph input goes straight into a per-tensor QuantizeLinear takes the
 * int8/uint8 values, an output straight out of a per-tensor DequantizeLinear is returned
 * quantized), and `edgec_run_f32` on floats (it runs those QuantizeLinear/DequantizeLinear layers
 * too; only when every graph input and output is float32). Shapes, dtypes, scales, zero points and
 * the arena size are #defines.
 *
 * Package: model.h, model.cpp, weights.h, kernels/ (the kernel library), main.cpp (a test program:
 * reads input.bin, runs, writes output.bin; on an MCU through semihosting), mcu/ (bare-metal
 * startup for the Arm MPS2 boards, linker script, Makefile).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, ValueId } from '../../compiler/ir/graph.js';
import { Tensor } from '../../compiler/ir/tensor.js';
import { EdgecError, internal, unsupported } from '../../compiler/errors.js';
import { Artifact, ArtifactManifest, IoSpec, Target, TargetOptions } from '../target.js';
import { edgecVersion, graphStats } from '../wasm/emit.js';
import { defineTarget } from '../common/target.js';
import { planMemory, BufferReq } from '../wasm/memory-plan.js';
import { BITS, Buf, LIB_FILES, Layer, PRECISIONS, commentText, floatLit, graphPrecision, hlsLibraryPath, lowerAll } from '../hls/emit.js';
import { Pass } from '../../compiler/passes/pass.js';
import { MCU_DEVICES, mcuFiles } from './mcu.js';

export interface COptions extends TargetOptions {
  /** 'fp32', 'fp16', 'int8' or 'int4' (default: from the graph). */
  precision?: string;
  /** Arena offset alignment in bytes (default 8). */
  align?: number;
}

/** C type of a native input/output dtype (model.h). */
const C_IO: Record<string, string> = { f32: 'float', i8: 'int8_t', u8: 'uint8_t', i16: 'int16_t', u16: 'uint16_t', i32: 'int32_t' };

/** One input or output of edgec_run. */
export interface CPort {
  name: string;
  shape: number[];
  /** Graph dtype (what edgec_run_f32 / the reference take). */
  dtype: string;
  /** dtype of edgec_run (the quantized dtype of a peeled boundary). */
  native: string;
  size: number;
  /** Quantization of the native values: real = (q - zero_point) * scale. */
  scale?: number;
  zeroPoint?: number;
}

/** Result of `emitC`. */
export interface CArtifact extends Artifact {
  ports: { inputs: CPort[]; outputs: CPort[] };
}

/** The c target's own kernels (targets/c/lib): the microcontroller int8 QConv / QGemm. */
const C_LIB_FILES = ['nnet_mcu.h'];

/** Location of targets/c/lib, also from the compiled dist tree. */
function cLibraryPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [path.join(here, 'lib'), path.resolve(here, '../../../targets/c/lib')]) {
    if (fs.existsSync(path.join(p, C_LIB_FILES[0]!))) return p;
  }
  throw internal(`c kernel library not found next to ${here}`);
}

const sha256 = (d: Uint8Array | string): string => createHash('sha256').update(d).digest('hex');

/** Per-tensor constant (scale or zero point) of a Q/DQ node input, or undefined. */
function perTensor(consts: ReadonlyMap<ValueId, Tensor>, id: ValueId | null | undefined): number | undefined {
  if (id === null || id === undefined) return undefined;
  const t = consts.get(id);
  return t && t.size === 1 ? t.get(0) : undefined;
}

/** The shared (hls) layer lowering; its errors name the c target. */
function lowerShared(g: Graph, precision: string): ReturnType<typeof lowerAll> {
  try {
    return lowerAll(g, { precision, mcuKernels: true });
  } catch (err) {
    if (!(err instanceof EdgecError)) throw err;
    throw new EdgecError(err.kind, err.message.replace(/\bthe HLS target\b/g, 'the c target').replace(/\bno HLS kernel\b/g, 'no c kernel'), err.ctx);
  }
}

/**
 * Emits the C source package of an optimized graph (run `cTarget.pipeline()` and, for int8,
 * quantize/ first; or use `compileC`).
 * @param g optimized graph with concrete shapes
 * @param opts precision, arena alignment
 */
export function emitC(g: Graph, opts: COptions = {}): CArtifact {
  const precision = opts.precision ?? graphPrecision(g);
  if (!PRECISIONS.includes(precision)) throw unsupported(`precision ${precision} is not supported by the c target (${PRECISIONS.join(', ')})`);
  const align = opts.align ?? 8;
  const { e, inputs, outputs } = lowerShared(g, precision);
  const layers = e.layers;
  const locals = new Set(e.locals);

  // boundary QuantizeLinear / DequantizeLinear layers that edgec_run skips (native int8 I/O);
  // only when every graph input and output is float32 (edgec_run_f32 then covers the whole graph)
  const hasF32 = [...inputs, ...outputs].every((p) => p.dtype === 'f32');
  const uses = g.uses();
  const peelIn = new Map<number, Layer>();
  const inPorts: CPort[] = inputs.map((x, k) => {
    const port: CPort = { name: x.name, shape: x.shape, dtype: x.dtype, native: x.dtype, size: x.size };
    const us = uses.get(x.id) ?? [];
    const q = us[0];
    const layer = q && us.length === 1 && q.op === 'QuantizeLinear' && (q.domain === '' || q.domain === 'ai.onnx') ? layers.find((l) => l.node === q) : undefined;
    const scale = q ? perTensor(e.consts, q.inputs[1]) : undefined;
    const zp = q ? (q.inputs[2] == null ? 0 : perTensor(e.consts, q.inputs[2])) : undefined;
    if (hasF32 && layer && layer.outs.length === 1 && scale !== undefined && zp !== undefined && x.dtype === 'f32' && !g.outputs.includes(x.id)) {
      peelIn.set(k, layer);
      Object.assign(port, { native: layer.outs[0]!.dtype, scale, zeroPoint: zp });
    }
    return port;
  });
  const peelOut = new Map<number, { layer: Layer; src: Buf }>();
  const outPorts: CPort[] = outputs.map((y, k) => {
    const port: CPort = { name: y.name, shape: y.shape, dtype: y.dtype, native: y.dtype, size: y.size };
    const buf = e.consts.has(y.id) ? undefined : e.bufs.get(y.id);
    const layer = buf ? layers.find((l) => l.outs.includes(buf)) : undefined;
    const n = layer?.node;
    if (!hasF32 || !layer || !n || n.op !== 'DequantizeLinear' || (n.domain !== '' && n.domain !== 'ai.onnx') || y.dtype !== 'f32') return port;
    const src = n.inputs[0] == null ? undefined : e.bufs.get(n.inputs[0]);
    const scale = perTensor(e.consts, n.inputs[1]);
    const zp = n.inputs[2] == null ? 0 : perTensor(e.consts, n.inputs[2]);
    // the dequantized buffer feeds only graph outputs (so the layer can run after all others)
    const readElsewhere = layers.some((l) => l !== layer && l.bufs.includes(buf!));
    if (!src || !locals.has(src) || scale === undefined || zp === undefined || readElsewhere || src.size !== y.size) return port;
    peelOut.set(k, { layer, src });
    Object.assign(port, { native: src.dtype, scale, zeroPoint: zp });
    return port;
  });
  for (const p of [...inPorts, ...outPorts]) {
    if (!C_IO[p.native]) throw unsupported(`the c target has no C type for the ${p.native} ${inPorts.includes(p) ? 'input' : 'output'} "${commentText(p.name).slice(1, 61)}" (float32, int8, uint8, int16, uint16, int32)`);
  }

  // execution order: peeled Q layers, core layers, peeled DQ layers, then the output copies
  const pre = [...new Set(peelIn.values())];
  const post = [...new Set([...peelOut.values()].map((p) => p.layer))];
  const core = layers.filter((l) => !pre.includes(l) && !post.includes(l));
  const order = [...pre, ...core, ...post];
  const end = order.length;
  const range = new Map<Buf, [number, number]>();
  order.forEach((l, s) => {
    for (const bf of l.bufs) {
      if (!locals.has(bf)) continue;
      const r = range.get(bf);
      range.set(bf, r ? [Math.min(r[0], s), Math.max(r[1], s)] : [s, s]);
    }
  });
  const live = (bf: Buf | undefined) => {
    const r = bf && range.get(bf);
    if (r) r[1] = end;
  };
  for (const o of outputs) if (!e.consts.has(o.id)) live(e.bufs.get(o.id));
  for (const p of peelOut.values()) live(p.src);
  for (const l of pre) {
    const r = range.get(l.outs[0]!);
    if (r) r[0] = 0;
  }
  const reqs: BufferReq[] = [];
  const bufList = [...e.locals];
  bufList.forEach((bf, key) => {
    const r = range.get(bf) ?? [0, end];
    reqs.push({ key, bytes: Math.ceil((bf.size * BITS[bf.dtype]!) / 8), first: r[0], last: r[1] });
  });
  const plan = planMemory(reqs, align);
  const arenaBytes = Math.max(plan.arenaBytes, align);

  const version = edgecVersion();
  const head = (what: string) => `// ${what}\n// Generated by edgec ${version} (c target). Do not edit.\n`;
  const files = new Map<string, string>();

  // model.h: the C API
  const H: string[] = ['#include <stdint.h>', '', `/* precision ${precision}; arena: one static buffer of EDGEC_ARENA_BYTES (planned at compile time) */`,
    `#define EDGEC_ARENA_BYTES ${arenaBytes}u`, `#define EDGEC_NUM_INPUTS ${inPorts.length}`, `#define EDGEC_NUM_OUTPUTS ${outPorts.length}`, `#define EDGEC_HAS_RUN_F32 ${hasF32 ? 1 : 0}`, ''];
  const portDefs = (p: CPort, kind: 'INPUT' | 'OUTPUT', k: number) => {
    const P = `EDGEC_${kind}${k}`;
    H.push(`/* ${kind.toLowerCase()} ${k}: ${commentText(p.name)} [${p.shape.join(', ')}] ${p.dtype}${p.native !== p.dtype ? `, native ${p.native}` : ''} */`,
      `typedef ${C_IO[p.native]} edgec_${kind.toLowerCase()}${k}_t;`, `#define ${P}_SIZE ${p.size}u`, `#define ${P}_RANK ${p.shape.length}`,
      `#define ${P}_SHAPE { ${p.shape.length ? p.shape.join(', ') : '1'} }`, `#define ${P}_DTYPE "${p.native}"`);
    if (p.scale !== undefined) H.push(`#define ${P}_SCALE ${floatLit(p.scale)}  /* real = (q - zero_point) * scale */`, `#define ${P}_ZERO_POINT ${p.zeroPoint}`);
    H.push('');
  };
  inPorts.forEach((p, k) => portDefs(p, 'INPUT', k));
  outPorts.forEach((p, k) => portDefs(p, 'OUTPUT', k));
  const nativeArgs = [...inPorts.map((_, k) => `const edgec_input${k}_t *in${k}`), ...outPorts.map((_, k) => `edgec_output${k}_t *out${k}`)];
  const f32Args = [...inPorts.map((_, k) => `const float *in${k}`), ...outPorts.map((_, k) => `float *out${k}`)];
  H.push('#ifdef __cplusplus', 'extern "C" {', '#endif',
    '/** Runs one inference on the native dtypes (EDGEC_*_DTYPE). Returns 0. Not reentrant (one static arena). */',
    `int edgec_run(${nativeArgs.join(', ')});`);
  if (hasF32) H.push('/** Runs one inference on float32 values: quantizes the inputs and dequantizes the outputs with the model\'s scales. Returns 0. */', `int edgec_run_f32(${f32Args.join(', ')});`);
  H.push('#ifdef __cplusplus', '}', '#endif');
  files.set('model.h', head('The model\'s C API') + `#ifndef EDGEC_MODEL_H_\n#define EDGEC_MODEL_H_\n\n${H.join('\n')}\n\n#endif\n`);


  // model.cpp: typedefs, configs, arena, the layer sequence
  const C: string[] = ['#include <cstring>', '#include "model.h"', '#include "weights.h"', '', ...e.typedefs, ''];
  outputs.forEach((o, k) => C.push(`typedef ${C_IO[o.dtype] ?? 'float'} result${k}_t;`, `struct config_out${k} : nnet::copy_config {`, `  static const unsigned n_elem = ${o.size};`, '};'));
  C.push('', ...layers.flatMap((l) => [l.comment, ...l.configs, '']));
  C.push(`// the arena: every intermediate buffer at its planned offset (buffers alive at the same time never overlap)`,
    `alignas(${Math.max(align, 8)}) static unsigned char edgec_arena[EDGEC_ARENA_BYTES];`);
  bufList.forEach((bf, key) => C.push(`static ${bf.ctype} *const ${bf.name} = reinterpret_cast<${bf.ctype} *>(edgec_arena + ${plan.offsets.get(key)});`));
  const calls = (ls: Layer[]) => ls.flatMap((l) => [`  ${l.comment}`, ...l.calls.map((c) => `  ${c}`)]);
  const outCopy = (k: number) => {
    const o = outputs[k]!;
    const c = e.consts.get(o.id);
    const src = c ? e.constArray(o.id, c) : e.bufs.get(o.id)?.name;
    const st = c ? e.ctypeOf(c.dtype) : e.bufs.get(o.id)?.ctype;
    if (!src || !st) throw internal(`output ${k} has no buffer`);
    return `  nnet::copy<${st}, result${k}_t, config_out${k}>(${src}, reinterpret_cast<result${k}_t *>(out${k}));`;
  };
  const copies = outputs.map((_, k) => outCopy(k));
  // weights.h: const arrays (flash); after the output copies (a constant output adds one)
  const W = [...[...LIB_FILES, ...C_LIB_FILES].map((f) => `#include "kernels/${f}"`), '', ...e.weights.map((w) => `static const ${w.ctype} ${w.name}[${w.count}] = {\n${w.body}\n};`)];
  files.set('weights.h', head('Weights: const arrays (flash)') + `#ifndef EDGEC_WEIGHTS_H_\n#define EDGEC_WEIGHTS_H_\n\n${W.join('\n')}\n\n#endif\n`);
  const coreIns = inputs.map((_, k) => k).filter((k) => !peelIn.has(k));
  const coreOuts = outputs.map((_, k) => k).filter((k) => !peelOut.has(k));
  const coreArgs = [...coreIns.map((k) => `const input${k}_t *in${k}`), ...coreOuts.map((k) => `edgec_output${k}_t *out${k}`)];
  const coreCall = `edgec_core(${[...coreIns.map((k) => `reinterpret_cast<const input${k}_t *>(in${k})`), ...coreOuts.map((k) => `out${k}`)].join(', ')});`;
  C.push('', '// the layers between the (quantized) inputs and outputs', `static void edgec_core(${coreArgs.join(', ') || 'void'}) {`, ...calls(core), ...coreOuts.map((k) => copies[k]!), '}', '');
  C.push(`int edgec_run(${nativeArgs.join(', ')}) {`);
  for (const [k, l] of peelIn) C.push(`  std::memcpy(${l.outs[0]!.name}, in${k}, sizeof(edgec_input${k}_t) * EDGEC_INPUT${k}_SIZE);`);
  C.push(`  ${coreCall}`);
  for (const [k, p] of peelOut) C.push(`  std::memcpy(out${k}, ${p.src.name}, sizeof(edgec_output${k}_t) * EDGEC_OUTPUT${k}_SIZE);`);
  C.push('  return 0;', '}', '');
  if (hasF32) {
    C.push(`int edgec_run_f32(${f32Args.join(', ')}) {`);
    if (peelIn.size === 0 && peelOut.size === 0) C.push(`  return edgec_run(${[...inPorts.map((_, k) => `in${k}`), ...outPorts.map((_, k) => `out${k}`)].join(', ')});`);
    else {
      C.push(...calls(pre), `  ${coreCall.replace(/reinterpret_cast<const input(\d+)_t \*>\(in\d+\)/g, 'in$1')}`, ...calls(post), ...[...peelOut.keys()].map((k) => copies[k]!), '  return 0;');
    }
    C.push('}', '');
  }
  files.set('model.cpp', head('Layers run in sequence over one static arena') + `// extern "C" entry points: see model.h\n${C.join('\n')}`);

  const lib = hlsLibraryPath();
  for (const f of LIB_FILES) files.set(`kernels/${f}`, fs.readFileSync(path.join(lib, f), 'utf8'));
  for (const f of C_LIB_FILES) files.set(`kernels/${f}`, fs.readFileSync(path.join(cLibraryPath(), f), 'utf8'));
  files.set('main.cpp', mainCpp(hasF32, inPorts.length, outPorts.length));
  for (const [name, text] of mcuFiles(version, inPorts.length, outPorts.length)) files.set(name, text);

  const sorted = new Map([...files].sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)));
  const { macs, params } = graphStats(g);
  const ioSpec = (xs: CPort[]): IoSpec[] => xs.map((x) => ({ name: x.name, shape: x.shape, dtype: x.dtype }));
  const weightsBytes = e.weights.reduce((s0, w) => s0 + Math.ceil(w.bits / 8), 0);
  const manifest: ArtifactManifest = {
    edgec: version,
    target: 'c',
    precision,
    inputs: ioSpec(inPorts),
    outputs: ioSpec(outPorts),
    macs,
    params,
    weights_bytes: weightsBytes,
    arena_bytes: arenaBytes,
    files: Object.fromEntries([...sorted].map(([k, v]) => [k, sha256(v)])),
    layers: layers.length,
    c_api: {
      run_f32: hasF32,
      inputs: inPorts.map((p) => ({ native: p.native, size: p.size, ...(p.scale !== undefined ? { scale: p.scale, zero_point: p.zeroPoint } : {}) })),
      outputs: outPorts.map((p) => ({ native: p.native, size: p.size, ...(p.scale !== undefined ? { scale: p.scale, zero_point: p.zeroPoint } : {}) })),
    },
    devices: Object.keys(MCU_DEVICES),
  };
  return { files: sorted, manifest, ports: { inputs: inPorts, outputs: outPorts } };
}

/**
 * The test program: reads the inputs from input.bin (raw little-endian values, inputs in order;
 * float32 when the model has edgec_run_f32, else the native dtypes), runs one inference and writes
 * output.bin the same way. On an MCU build (EDGEC_MCU) the files go through semihosting and the
 * emulator's instruction count of edgec_run is printed.
 */
function mainCpp(f32: boolean, nIn: number, nOut: number): string {
  const ins = Array.from({ length: nIn }, (_, k) => k);
  const outs = Array.from({ length: nOut }, (_, k) => k);
  const ti = (k: number) => (f32 ? 'float' : `edgec_input${k}_t`);
  const to = (k: number) => (f32 ? 'float' : `edgec_output${k}_t`);
  return `// Test program: input.bin -> edgec_run${f32 ? '_f32' : ''} -> output.bin (raw little-endian values, in order).
// Usage: ./model_test [INPUT_FILE [OUTPUT_FILE]]  (MCU builds: input.bin / output.bin in the emulator's folder)
// Generated by edgec ${edgecVersion()} (c target).
#include <cstdio>
#include "model.h"
#ifdef EDGEC_MCU
#include "mcu/counter.h"
#endif

${ins.map((k) => `static ${ti(k)} in${k}[EDGEC_INPUT${k}_SIZE];`).join('\n')}
${outs.map((k) => `static ${to(k)} out${k}[EDGEC_OUTPUT${k}_SIZE];`).join('\n')}

int main(int argc, char **argv) {
  const char *in_path = argc > 1 ? argv[1] : "input.bin";
  const char *out_path = argc > 2 ? argv[2] : "output.bin";
  FILE *fi = std::fopen(in_path, "rb");
  if (!fi) { std::printf("edgec: cannot open %s\\n", in_path); return 2; }
${ins.map((k) => `  if (std::fread(in${k}, sizeof(in${k}[0]), EDGEC_INPUT${k}_SIZE, fi) != EDGEC_INPUT${k}_SIZE) { std::printf("edgec: %s: short input ${k}\\n", in_path); return 2; }`).join('\n')}
  std::fclose(fi);
#ifdef EDGEC_MCU
  const unsigned long long t0 = edgec_mcu_instructions();
#endif
  edgec_run${f32 ? '_f32' : ''}(${[...ins.map((k) => `in${k}`), ...outs.map((k) => `out${k}`)].join(', ')});
#ifdef EDGEC_MCU
  const unsigned long long t1 = edgec_mcu_instructions();
  std::printf("edgec: instructions %llu\\n", t1 - t0);
  std::printf("edgec: stack %lu\\n", (unsigned long)edgec_mcu_stack_used());
#endif
  FILE *fo = std::fopen(out_path, "wb");
  if (!fo) { std::printf("edgec: cannot write %s\\n", out_path); return 2; }
${outs.map((k) => `  std::fwrite(out${k}, sizeof(out${k}[0]), EDGEC_OUTPUT${k}_SIZE, fo);`).join('\n')}
  std::fclose(fo);
  return 0;
}
`;
}

const C_TARGET = defineTarget('c', emitC);

/** The c target's passes: the shared pipeline for 'c'. */
export const cPipeline: () => Pass[] = C_TARGET.pipeline;

/** Optimizes a copy of `g` with the c pipeline and emits the package (fp32). */
export const compileC: (g: Graph, opts?: COptions) => CArtifact & { graph: Graph } = C_TARGET.compile;

/** The C Target. */
export const cTarget: Target<COptions> = C_TARGET.target;
