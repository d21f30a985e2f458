/**
 * TF.js layers models (model.json `format: "layers-model"`): a Keras Sequential/Functional config
 * plus weights named `<layer>/<weight>`. Each Keras layer maps to registry ops via nn.ts, in the
 * channels_last convention with channels-first twins for spatial ops (see emit.ts).
 */
import { ValueId } from '../../ir/graph.js';
import { DType } from '../../ir/dtype.js';
import { Dim, Tensor } from '../../ir/tensor.js';
import { ErrorContext, Limits, invalid, limit, unsupported } from '../../errors.js';
import { Emitter, LVal } from './emit.js';
import { JsonObj, isObj, own, show } from './load.js';
import { TfjsImportOptions } from './graph-model.js';
import { Conv2dSpec, Padding, activation, batchNorm, binary, concat, conv2d, convTranspose2d, pad, pool2d, reduce, resize2d, softmax } from './nn.js';

const KERAS_DTYPES: Record<string, DType> = { float32: 'f32', int32: 'i32', bool: 'bool', uint8: 'u8' };

interface Layer {
  className: string;
  name: string;
  config: JsonObj;
  /** Functional: per call, the (layer, node, tensor) references of its inputs. */
  inbound: [string, number, number][][];
}

/** An int or a list of ints (Keras kernel_size/strides/...), as n ints. */
function tuple(v: unknown, n: number, def: number[], what: string): number[] {
  if (v === undefined || v === null) return def;
  if (typeof v === 'number') return new Array<number>(n).fill(v);
  if (Array.isArray(v) && v.length === n && v.every((x) => Number.isSafeInteger(x))) return v as number[];
  throw invalid(`${what} must be an integer or a list of ${n} integers`);
}

function str(c: JsonObj, k: string, def: string): string {
  const v = own(c, k);
  return typeof v === 'string' ? v : def;
}
function num(c: JsonObj, k: string, def: number): number {
  const v = own(c, k);
  return typeof v === 'number' ? v : def;
}
function bool(c: JsonObj, k: string, def: boolean): boolean {
  const v = own(c, k);
  return typeof v === 'boolean' ? v : def;
}

/** Keras activation config (string, or {class_name/config} in newer Keras). */
function actName(c: JsonObj): string {
  const a = own(c, 'activation');
  if (a === undefined || a === null) return 'linear';
  if (typeof a === 'string') return a;
  if (isObj(a)) {
    const cfg = own(a, 'config');
    const n = isObj(cfg) ? own(cfg, 'name') : own(a, 'class_name');
    if (typeof n === 'string') return n;
  }
  throw invalid('layer activation has an unknown form');
}

function parseInbound(raw: unknown): [string, number, number][][] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('layer inbound_nodes is not a list');
  return raw.map((call) => {
    // Keras 2 / tfjs: [[name, node, tensor, kwargs], ...]; Keras 3: {args: [...]}.
    const refs: [string, number, number][] = [];
    const visit = (x: unknown): void => {
      if (Array.isArray(x)) {
        if (typeof x[0] === 'string' && typeof x[1] === 'number' && typeof x[2] === 'number') refs.push([x[0], x[1], x[2]]);
        else x.forEach(visit);
      } else if (isObj(x)) {
        const cfg = own(x, 'config');
        const hist = isObj(cfg) ? own(cfg, 'keras_history') : undefined;
        if (Array.isArray(hist)) visit(hist);
        else {
          const args = own(x, 'args');
          if (Array.isArray(args)) args.forEach(visit);
        }
      }
    };
    visit(call);
    return refs;
  });
}

function parseLayer(l: unknown, i: number): Layer {
  if (!isObj(l)) throw invalid(`layer ${i} is not an object`);
  const className = own(l, 'class_name');
  const config = own(l, 'config');
  if (typeof className !== 'string') throw invalid(`layer ${i} has no class_name`);
  if (!isObj(config)) throw invalid(`layer ${i} has no config`);
  const name = own(l, 'name') ?? own(config, 'name');
  if (typeof name !== 'string' || !name) throw invalid(`layer ${i} has no name`);
  return { className, name, config, inbound: parseInbound(own(l, 'inbound_nodes')) };
}

class LayerConverter {
  private wcache = new Map<string, ValueId>();
  constructor(readonly e: Emitter, private weights: Map<string, Tensor>) {}

  /** Weight `<layer>/<w>` (also accepts a scope prefix, e.g. `model/<layer>/<w>`). */
  weight(layer: string, w: string, required = true): ValueId | null {
    const key = `${layer}/${w}`;
    const hit = this.wcache.get(key);
    if (hit !== undefined) return hit;
    let t = this.weights.get(key);
    let found = key;
    if (!t) {
      const cands = [...this.weights.keys()].filter((k) => k.endsWith(`/${key}`) || k === `${key}:0`);
      if (cands.length === 1) {
        found = cands[0]!;
        t = this.weights.get(found);
      }
    }
    if (!t) {
      if (!required) return null;
      throw invalid(`weight "${key}" is missing from weightsManifest`, { tensor: key });
    }
    const id = this.e.const(found, t);
    this.wcache.set(key, id);
    return id;
  }

  /** Applies one layer call to its inputs. */
  apply(l: Layer, xs: LVal[], name: string): LVal {
    const e = this.e;
    const c = l.config;
    const x = xs[0];
    if (!x) throw invalid(`layer ${l.className} has no input`);
    const fmt = str(c, 'data_format', 'channels_last');
    if (fmt !== 'channels_last') throw unsupported(`data_format ${fmt} is not supported (channels_last is)`);
    const padding = (): Padding => {
      const p = str(c, 'padding', 'valid');
      if (p === 'valid') return 'VALID';
      if (p === 'same') return 'SAME';
      throw unsupported(`padding "${p}" is not supported`);
    };
    const act = (y: LVal): LVal => {
      const a = actName(c);
      return a === 'linear' ? y : activation(e, y, a, name);
    };
    const main = (suffix: string): string => (actName(c) === 'linear' ? name : `${name}/${suffix}`);
    const rank = e.lrank(x);
    switch (l.className) {
      case 'Dense': {
        const k = this.weight(l.name, 'kernel')!;
        const useBias = bool(c, 'use_bias', true);
        let y: LVal = { tf: e.op('MatMul', [e.tf(x), k], {}, useBias ? `${name}/matmul` : main('matmul')) };
        if (useBias) y = { tf: e.op('Add', [y.tf!, this.weight(l.name, 'bias')!], {}, main('bias')) };
        return act(y);
      }
      case 'Conv2D': case 'DepthwiseConv2D': {
        const dw = l.className === 'DepthwiseConv2D';
        if (rank !== 4) throw invalid(`${l.className} needs a rank-4 input, got rank ${rank}`);
        const spec: Conv2dSpec = {
          strides: tuple(own(c, 'strides'), 2, [1, 1], 'strides') as [number, number],
          dilations: tuple(own(c, 'dilation_rate'), 2, [1, 1], 'dilation_rate') as [number, number],
          padding: padding(),
        };
        const k = this.weight(l.name, dw ? 'depthwise_kernel' : 'kernel')!;
        const b = bool(c, 'use_bias', true) ? this.weight(l.name, 'bias') : null;
        return act(conv2d(e, x, k, b, spec, dw, main('conv')));
      }
      case 'Conv2DTranspose': {
        if (rank !== 4) throw invalid(`Conv2DTranspose needs a rank-4 input, got rank ${rank}`);
        const spec: Conv2dSpec = {
          strides: tuple(own(c, 'strides'), 2, [1, 1], 'strides') as [number, number],
          dilations: tuple(own(c, 'dilation_rate'), 2, [1, 1], 'dilation_rate') as [number, number],
          padding: padding(),
        };
        if (own(c, 'output_padding') !== undefined && own(c, 'output_padding') !== null) throw unsupported('Conv2DTranspose output_padding is not supported');
        const k = this.weight(l.name, 'kernel')!;
        const ks = e.shape(k, 'Conv2DTranspose kernel');
        const [, h, w] = e.shape(e.tf(x), 'Conv2DTranspose input', 1);
        // keras deconv_output_length: same -> in * s; valid -> in * s + max(k_eff - s, 0)
        const outLen = (inn: number, i: 0 | 1) => {
          const keff = (ks[i]! - 1) * spec.dilations[i] + 1;
          return spec.padding === 'SAME' ? inn * spec.strides[i] : inn * spec.strides[i] + Math.max(keff - spec.strides[i], 0);
        };
        const b = bool(c, 'use_bias', true) ? this.weight(l.name, 'bias') : null;
        return act(convTranspose2d(e, x, k, b, spec, [outLen(h!, 0), outLen(w!, 1)], main('deconv')));
      }
      case 'SeparableConv2D': {
        if (rank !== 4) throw invalid(`SeparableConv2D needs a rank-4 input, got rank ${rank}`);
        const spec: Conv2dSpec = {
          strides: tuple(own(c, 'strides'), 2, [1, 1], 'strides') as [number, number],
          dilations: tuple(own(c, 'dilation_rate'), 2, [1, 1], 'dilation_rate') as [number, number],
          padding: padding(),
        };
        const dk = this.weight(l.name, 'depthwise_kernel')!;
        const pk = this.weight(l.name, 'pointwise_kernel')!;
        const b = bool(c, 'use_bias', true) ? this.weight(l.name, 'bias') : null;
        const d = conv2d(e, x, dk, null, spec, true, `${name}/depthwise`);
        return act(conv2d(e, d, pk, b, { strides: [1, 1], dilations: [1, 1], padding: 'VALID' }, false, main('pointwise')));
      }
      case 'Conv1D': {
        if (rank !== 3) throw invalid(`Conv1D needs a rank-3 input, got rank ${rank}`);
        const [s] = tuple(own(c, 'strides'), 1, [1], 'strides');
        const [dil] = tuple(own(c, 'dilation_rate'), 1, [1], 'dilation_rate');
        const kt = this.weight(l.name, 'kernel')!;
        const ks = e.shape(kt, 'Conv1D kernel');
        const p = str(c, 'padding', 'valid');
        const spec: Conv2dSpec = { strides: [1, s!], dilations: [1, dil!], padding: p === 'same' ? 'SAME' : p === 'valid' ? 'VALID' : 'EXPLICIT' };
        if (p === 'causal') spec.explicit = [0, 0, (ks[0]! - 1) * dil!, 0];
        else if (p !== 'same' && p !== 'valid') throw unsupported(`Conv1D padding "${p}" is not supported`);
        const k4 = e.op('Unsqueeze', [kt, e.i64(`${name}/k_axes`, [0])], {}, `${name}/kernel2d`);
        const x4: LVal = { tf: e.op('Unsqueeze', [e.tf(x), e.i64(`${name}/x_axes`, [1])], {}, `${name}/input2d`) };
        const b = bool(c, 'use_bias', true) ? this.weight(l.name, 'bias') : null;
        const y = conv2d(e, x4, k4, b, spec, false, `${name}/conv2d`);
        return act({ tf: e.op('Squeeze', [e.tf(y), e.i64(`${name}/sq_axes`, [1])], {}, main('conv')) });
      }
      case 'BatchNormalization': {
        const axis = num(c, 'axis', -1);
        if (axis !== -1 && axis !== rank - 1 && !(Array.isArray(own(c, 'axis')) && (own(c, 'axis') as number[]).length === 1 && [-1, rank - 1].includes((own(c, 'axis') as number[])[0]!))) {
          throw unsupported(`BatchNormalization over axis ${show(own(c, 'axis'))} is not supported (the last axis is)`);
        }
        const mean = this.weight(l.name, 'moving_mean')!;
        const variance = this.weight(l.name, 'moving_variance')!;
        const ch = e.shape(mean, 'BatchNormalization moving_mean')[0]!;
        const gamma = bool(c, 'scale', true) ? this.weight(l.name, 'gamma')! : e.const(`${name}/gamma`, Tensor.from('f32', [ch], new Array<number>(ch).fill(1)));
        const beta = bool(c, 'center', true) ? this.weight(l.name, 'beta')! : e.const(`${name}/beta`, Tensor.zeros('f32', [ch]));
        return batchNorm(e, x, gamma, beta, mean, variance, num(c, 'epsilon', 1e-3), name);
      }
      case 'Activation': return activation(e, x, actName(c), name);
      case 'ReLU': {
        const maxv = own(c, 'max_value');
        const slope = num(c, 'negative_slope', 0);
        if (num(c, 'threshold', 0) !== 0) throw unsupported('ReLU with a threshold is not supported');
        let y = slope === 0 ? activation(e, x, 'relu', typeof maxv === 'number' ? `${name}/relu` : name)
          : activation(e, x, 'leakyrelu', typeof maxv === 'number' ? `${name}/relu` : name, { alpha: slope });
        if (typeof maxv === 'number') {
          const dt = e.ltype(y).dtype;
          const lo = e.scalar(`${name}/min`, dt, slope === 0 ? 0 : -Infinity);
          const hi = e.scalar(`${name}/max`, dt, maxv);
          y = y.cf !== undefined ? { cf: e.op('Clip', [y.cf, lo, hi], {}, name) } : { tf: e.op('Clip', [e.tf(y), lo, hi], {}, name) };
        }
        return y;
      }
      case 'LeakyReLU': return activation(e, x, 'leakyrelu', name, { alpha: num(c, 'alpha', num(c, 'negative_slope', 0.3)) });
      case 'ELU': {
        if (num(c, 'alpha', 1) !== 1) return { tf: e.op('Elu', [e.tf(x)], { alpha: num(c, 'alpha', 1) }, name) };
        return activation(e, x, 'elu', name);
      }
      case 'Softmax': return softmax(e, x, num(c, 'axis', -1), name);
      case 'Dropout': case 'SpatialDropout1D': case 'SpatialDropout2D': case 'GaussianNoise': case 'GaussianDropout':
      case 'AlphaDropout': case 'ActivityRegularization':
        return x;
      case 'Flatten': return { tf: e.op('Flatten', [e.tf(x)], { axis: 1 }, name) };
      case 'Reshape': {
        const ts = own(c, 'target_shape') ?? own(c, 'targetShape');
        if (!Array.isArray(ts) || !ts.every((d) => Number.isSafeInteger(d))) throw invalid('Reshape target_shape must be a list of integers');
        return { tf: e.op('Reshape', [e.tf(x), e.i64(`${name}/shape`, [0, ...(ts as number[])])], {}, name) };
      }
      case 'Permute': {
        const dims = own(c, 'dims');
        if (!Array.isArray(dims)) throw invalid('Permute dims must be a list');
        return { tf: e.op('Transpose', [e.tf(x)], { perm: [0, ...(dims as number[])] }, name) };
      }
      case 'MaxPooling2D': case 'AveragePooling2D': {
        if (rank !== 4) throw invalid(`${l.className} needs a rank-4 input, got rank ${rank}`);
        const k = tuple(own(c, 'pool_size'), 2, [2, 2], 'pool_size') as [number, number];
        const s = tuple(own(c, 'strides'), 2, k, 'strides') as [number, number];
        return pool2d(e, x, l.className === 'MaxPooling2D' ? 'max' : 'avg', k, { strides: s, dilations: [1, 1], padding: padding() }, name);
      }
      case 'MaxPooling1D': case 'AveragePooling1D': {
        if (rank !== 3) throw invalid(`${l.className} needs a rank-3 input, got rank ${rank}`);
        const [k] = tuple(own(c, 'pool_size'), 1, [2], 'pool_size');
        const [s] = tuple(own(c, 'strides'), 1, [k!], 'strides');
        const x4: LVal = { tf: e.op('Unsqueeze', [e.tf(x), e.i64(`${name}/x_axes`, [1])], {}, `${name}/input2d`) };
        const y = pool2d(e, x4, l.className === 'MaxPooling1D' ? 'max' : 'avg', [1, k!], { strides: [1, s!], dilations: [1, 1], padding: padding() }, `${name}/pool2d`);
        return { tf: e.op('Squeeze', [e.tf(y), e.i64(`${name}/sq_axes`, [1])], {}, name) };
      }
      case 'GlobalAveragePooling2D': case 'GlobalMaxPooling2D': case 'GlobalAveragePooling1D': case 'GlobalMaxPooling1D': {
        const axes = l.className.endsWith('2D') ? [1, 2] : [1];
        if (rank !== axes.length + 2) throw invalid(`${l.className} needs a rank-${axes.length + 2} input, got rank ${rank}`);
        return reduce(e, x, l.className.startsWith('GlobalMax') ? 'ReduceMax' : 'ReduceMean', axes, bool(c, 'keepdims', false), name);
      }
      case 'Add': case 'Subtract': case 'Multiply': case 'Maximum': case 'Minimum': case 'Average': {
        if (xs.length < 2) throw invalid(`${l.className} needs at least 2 inputs`);
        if (l.className === 'Subtract' && xs.length !== 2) throw invalid('Subtract needs exactly 2 inputs');
        const op = { Add: 'Add', Subtract: 'Sub', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min', Average: 'Add' }[l.className]!;
        let acc = x;
        for (let i = 1; i < xs.length; i++) acc = binary(e, op, acc, xs[i]!, i === xs.length - 1 && l.className !== 'Average' ? name : `${name}/${i}`);
        if (l.className === 'Average') acc = binary(e, 'Mul', acc, { tf: e.scalar(`${name}/inv_n`, e.ltype(acc).dtype, 1 / xs.length) }, name);
        return acc;
      }
      case 'Concatenate': return concat(e, xs, num(c, 'axis', -1), name);
      case 'ZeroPadding2D': case 'ZeroPadding1D': {
        const p = own(c, 'padding');
        let pairs: [number, number][];
        if (l.className === 'ZeroPadding1D') {
          const [a, b] = typeof p === 'number' ? [p, p] : tuple(p, 2, [1, 1], 'padding');
          pairs = [[0, 0], [a!, b!], [0, 0]];
        } else {
          let hw: [number, number][];
          if (typeof p === 'number' || p === undefined) { const q = (p as number | undefined) ?? 1; hw = [[q, q], [q, q]]; }
          else if (Array.isArray(p) && p.length === 2 && p.every((q) => typeof q === 'number')) hw = [[p[0] as number, p[0] as number], [p[1] as number, p[1] as number]];
          else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2)) hw = p as [number, number][];
          else throw invalid('ZeroPadding2D padding has an unknown form');
          pairs = [[0, 0], hw[0]!, hw[1]!, [0, 0]];
        }
        return pad(e, x, pairs, 'constant', null, name);
      }
      case 'UpSampling2D': {
        if (rank !== 4) throw invalid(`UpSampling2D needs a rank-4 input, got rank ${rank}`);
        const [sh, sw] = tuple(own(c, 'size'), 2, [2, 2], 'size');
        const [, h, w] = e.shape(e.tf(x), 'UpSampling2D input', 1);
        const interp = str(c, 'interpolation', 'nearest');
        if (interp !== 'nearest' && interp !== 'bilinear') throw unsupported(`UpSampling2D interpolation "${interp}" is not supported`);
        return resize2d(e, x, [h! * sh!, w! * sw!], interp === 'nearest' ? 'nearest' : 'linear', false, false, name);
      }
      case 'PReLU': return activation(e, x, 'prelu', name, { prelu: { tf: this.weight(l.name, 'alpha')! } });
      case 'Embedding': {
        const emb = this.weight(l.name, 'embeddings')!;
        return { tf: e.op('Gather', [emb, e.tf(x)], { axis: 0 }, name) };
      }
      case 'Cropping2D': {
        if (rank !== 4) throw invalid(`Cropping2D needs a rank-4 input, got rank ${rank}`);
        const p = own(c, 'cropping');
        let hw: [number, number][];
        if (typeof p === 'number') hw = [[p, p], [p, p]];
        else if (Array.isArray(p) && p.length === 2 && p.every((q) => typeof q === 'number')) hw = [[p[0] as number, p[0] as number], [p[1] as number, p[1] as number]];
        else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2)) hw = p as [number, number][];
        else throw invalid('Cropping2D cropping has an unknown form');
        const [, h, w] = e.shape(e.tf(x), 'Cropping2D input', 1);
        const starts = e.i64(`${name}/starts`, [hw[0]![0], hw[1]![0]]);
        const ends = e.i64(`${name}/ends`, [h! - hw[0]![1], w! - hw[1]![1]]);
        if (x.tf === undefined) return { cf: e.op('Slice', [x.cf!, starts, ends, e.i64(`${name}/axes`, [2, 3])], {}, name) };
        return { tf: e.op('Slice', [e.tf(x), starts, ends, e.i64(`${name}/axes`, [1, 2])], {}, name) };
      }
      case 'Rescaling': {
        const dt = e.ltype(x).dtype;
        const m = binary(e, 'Mul', x, { tf: e.scalar(`${name}/scale`, dt, num(c, 'scale', 1)) }, `${name}/scale`);
        return binary(e, 'Add', m, { tf: e.scalar(`${name}/offset`, dt, num(c, 'offset', 0)) }, name);
      }
      default:
        throw unsupported(`Keras layer ${l.className} is not supported`, { hint: 'see README "Supported ops"' });
    }
  }
}

/** Batch shape of an input config (batch_input_shape / batch_shape), dims null -> symbolic. */
function inputShapeOf(c: JsonObj, name: string, opts: TfjsImportOptions, limits: Limits): Dim[] {
  let s = own(c, 'batch_input_shape') ?? own(c, 'batch_shape');
  if (s === undefined) {
    const is = own(c, 'input_shape');
    if (Array.isArray(is)) s = [null, ...is];
  }
  if (!Array.isArray(s)) throw invalid('input layer has no batch_input_shape');
  if (s.length > limits.maxRank) throw limit(`input rank ${s.length} exceeds the limit`);
  const fixed = opts.inputShapes && Object.prototype.hasOwnProperty.call(opts.inputShapes, name) ? opts.inputShapes[name] : undefined;
  if (fixed) {
    if (fixed.length !== s.length) throw invalid(`--input-shape for "${name}" has rank ${fixed.length}, the model's input has rank ${s.length}`);
    return [...fixed];
  }
  return s.map((d, i) => {
    if (d === null || d === undefined || d === -1) return opts.symbolicToOne === false ? `${name}_d${i}` : 1;
    if (!Number.isSafeInteger(d) || (d as number) < 0) throw invalid('input shape dims must be non-negative integers or null');
    return d as number;
  });
}

function dtypeOf(c: JsonObj): DType {
  const d = own(c, 'dtype');
  if (d === undefined || d === null) return 'f32';
  if (typeof d === 'string' && Object.prototype.hasOwnProperty.call(KERAS_DTYPES, d)) return KERAS_DTYPES[d]!;
  throw unsupported(`input dtype ${show(d)} is not supported`);
}

/** Converts a layers-model model.json (already parsed) plus weights into a Graph. */
export function convertLayersModel(j: JsonObj, weights: Map<string, Tensor>, opts: TfjsImportOptions, limits: Limits): Emitter {
  const fctx: ErrorContext = opts.file ? { file: opts.file } : {};
  const topo = own(j, 'modelTopology') as JsonObj;
  const mc = own(topo, 'model_config') ?? (own(topo, 'class_name') !== undefined ? topo : undefined);
  if (!isObj(mc)) throw invalid('layers model has no model_config', fctx);
  const cls = own(mc, 'class_name');
  const cfg = own(mc, 'config');
  const cfgName = isObj(cfg) ? own(cfg, 'name') : undefined;
  const e = new Emitter(typeof cfgName === 'string' && cfgName ? cfgName : opts.graphName ?? 'tfjs-layers-model', fctx);
  e.g.meta['format'] = 'tfjs-layers-model';
  for (const k of ['generatedBy', 'convertedBy']) {
    const v = own(j, k);
    if (typeof v === 'string') e.g.meta[k] = v;
  }
  const conv = new LayerConverter(e, weights);
  const rawLayers = Array.isArray(cfg) ? cfg : isObj(cfg) ? own(cfg, 'layers') : undefined;
  if (!Array.isArray(rawLayers)) throw invalid('model config has no layers list', fctx);
  if (rawLayers.length > limits.maxNodes) throw limit(`model has ${rawLayers.length} layers, over the limit`, fctx);
  const layers = rawLayers.map((l, i) => e.withNodeContext({ nodeIndex: i }, () => parseLayer(l, i)));
  const lctx = (l: Layer, i: number): ErrorContext => ({ node: l.name, op: l.className, nodeIndex: i });

  if (cls === 'Sequential') {
    let x: LVal | undefined;
    layers.forEach((l, i) => e.withNodeContext(lctx(l, i), () => {
      if (!x) {
        const inName = l.className === 'InputLayer' ? l.name : `${l.name}_input`;
        x = { tf: e.b.input(inName, dtypeOf(l.config), inputShapeOf(l.config, inName, opts, limits)) };
        if (l.className === 'InputLayer') return;
      } else if (l.className === 'InputLayer') throw invalid('InputLayer is not the first layer of a Sequential model');
      x = conv.apply(l, [x], l.name);
    }));
    if (!x) throw invalid('Sequential model has no layers', fctx);
    let out = e.tf(x);
    const last = layers[layers.length - 1]!.name;
    if (e.g.inputs.includes(out) || e.g.consts.has(out)) out = e.op('Identity', [out], {}, last);
    e.g.value(out).name = last;
    e.b.output(out);
    return e;
  }
  if (cls !== 'Model' && cls !== 'Functional') throw unsupported(`Keras model class ${show(cls)} is not supported`, fctx);
  const c = cfg as JsonObj;
  const vals = new Map<string, LVal>();
  const key = (n: string, node: number, t: number) => `${n}\u0000${node}\u0000${t}`;
  const byName = new Map(layers.map((l) => [l.name, l]));
  // Layer calls (layer, call index) in dependency order (Kahn's algorithm: linear time even for
  // configs listed out of order; a call waits for the calls whose outputs it reads).
  interface Call { li: number; k: number; refs: [string, number, number][] }
  const calls: Call[] = [];
  const callKey = (n: string, k: number) => `${n}\u0000${k}`;
  const byCall = new Map<string, number>();
  layers.forEach((l, li) => {
    if (l.className === 'InputLayer') {
      byCall.set(callKey(l.name, 0), calls.length);
      calls.push({ li, k: 0, refs: [] });
      return;
    }
    l.inbound.forEach((refs, k) => {
      byCall.set(callKey(l.name, k), calls.length);
      calls.push({ li, k, refs });
    });
  });
  const waiting = calls.map((cl) => new Set(cl.refs.map(([n, k]) => callKey(n, k))).size);
  const users = new Map<number, number[]>();
  calls.forEach((cl, ci) => {
    for (const dep of new Set(cl.refs.map(([n, k]) => callKey(n, k)))) {
      const d = byCall.get(dep);
      if (d === undefined) {
        const l = layers[cl.li]!;
        throw invalid(`layer input refers to "${dep.split('\u0000')[0]}" node ${dep.split('\u0000')[1]}, which does not exist`, { ...fctx, ...lctx(l, cl.li) });
      }
      let u = users.get(d);
      if (!u) users.set(d, (u = []));
      u.push(ci);
    }
  });
  const ready = calls.map((_, ci) => ci).filter((ci) => waiting[ci] === 0);
  let done = 0;
  for (let h = 0; h < ready.length; h++) {
    const ci = ready[h]!;
    const cl = calls[ci]!;
    const l = layers[cl.li]!;
    e.withNodeContext(lctx(l, cl.li), () => {
      if (l.className === 'InputLayer') {
        vals.set(key(l.name, 0, 0), { tf: e.b.input(l.name, dtypeOf(l.config), inputShapeOf(l.config, l.name, opts, limits)) });
        return;
      }
      const xs = cl.refs.map(([n, nk, t]) => {
        const v = vals.get(key(n, nk, t));
        if (!v) throw invalid(`layer input refers to output ${t} of "${n}", which has no such output`);
        return v;
      });
      vals.set(key(l.name, cl.k, 0), conv.apply(l, xs, l.inbound.length > 1 ? `${l.name}_${cl.k}` : l.name));
    });
    done++;
    for (const u of users.get(ci) ?? []) if (--waiting[u]! === 0) ready.push(u);
  }
  if (done !== calls.length) {
    const ci = waiting.findIndex((w) => w > 0);
    const l = layers[calls[ci]!.li]!;
    throw invalid('layer inputs form a cycle', { ...fctx, ...lctx(l, calls[ci]!.li) });
  }
  const outs = parseInbound([own(c, 'output_layers')])[0] ?? [];
  if (!outs.length) throw invalid('functional model has no output_layers', fctx);
  for (const [n, k, t] of outs) {
    if (!byName.has(n)) throw invalid(`output layer "${n}" does not exist`, fctx);
    const v = vals.get(key(n, k, t));
    if (!v) throw invalid(`output layer "${n}" has no node ${k}`, fctx);
    let id = e.tf(v);
    if (e.g.inputs.includes(id) || e.g.outputs.includes(id) || e.g.consts.has(id)) id = e.op('Identity', [id], {}, n);
    e.g.value(id).name = n;
    e.b.output(id);
  }
  return e;
}
