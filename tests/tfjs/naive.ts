/**
 * Independent, deliberately naive NHWC implementations of the Keras/TF layer semantics used by the
 * layers-model tests (written from the TF documentation, sharing no code with the frontend or the
 * registry): the expected outputs of the tfjs tests come from here.
 */

/** An NHWC (or any-rank, row-major) float64 array with its shape. */
export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const arr = (shape: number[], data?: ArrayLike<number>): Arr => ({
  shape, data: data ? Float64Array.from(data) : new Float64Array(shape.reduce((a, b) => a * b, 1)),
});

/** Deterministic uniform [-1, 1) numbers. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/** TF SAME/VALID output size and leading pad. */
function win(inSize: number, k: number, s: number, d: number, padding: 'same' | 'valid'): [number, number] {
  const eff = (k - 1) * d + 1;
  if (padding === 'valid') return [Math.floor((inSize - eff) / s) + 1, 0];
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + eff - inSize, 0);
  return [out, Math.floor(total / 2)];
}

/** conv2d, kernel HWIO [kh,kw,ci,co]; depthwise: kernel [kh,kw,ci,m], output channel ci*m + m. */
export function conv2d(x: Arr, k: Arr, bias: Arr | null, s: [number, number], padding: 'same' | 'valid',
  opts: { depthwise?: boolean; dilation?: [number, number]; padTop?: number; padLeft?: number; outH?: number; outW?: number } = {}): Arr {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [kh, kw, ki, ko] = k.shape as [number, number, number, number];
  const d = opts.dilation ?? [1, 1];
  let [oh, pt] = win(h, kh, s[0], d[0], padding);
  let [ow, pl] = win(w, kw, s[1], d[1], padding);
  if (opts.padTop !== undefined) { pt = opts.padTop; oh = opts.outH!; }
  if (opts.padLeft !== undefined) { pl = opts.padLeft; ow = opts.outW!; }
  const co = opts.depthwise ? c * ko : ko;
  const y = arr([n, oh, ow, co]);
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let o = 0; o < co; o++) {
    let acc = bias ? bias.data[o]! : 0;
    for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
      const yy = i * s[0] + u * d[0] - pt;
      const xx = j * s[1] + v * d[1] - pl;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      if (opts.depthwise) {
        const ci = Math.floor(o / ko);
        const m = o % ko;
        acc += x.data[((b * h + yy) * w + xx) * c + ci]! * k.data[((u * kw + v) * ki + ci) * ko + m]!;
      } else {
        for (let ci = 0; ci < c; ci++) acc += x.data[((b * h + yy) * w + xx) * c + ci]! * k.data[((u * kw + v) * ki + ci) * ko + o]!;
      }
    }
    y.data[((b * oh + i) * ow + j) * co + o] = acc;
  }
  return y;
}

/** Max/avg pooling; avg divides by the number of non-padding taps (TF). */
export function pool(x: Arr, kind: 'max' | 'avg', k: [number, number], s: [number, number], padding: 'same' | 'valid'): Arr {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [oh, pt] = win(h, k[0], s[0], 1, padding);
  const [ow, pl] = win(w, k[1], s[1], 1, padding);
  const y = arr([n, oh, ow, c]);
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let ch = 0; ch < c; ch++) {
    let acc = kind === 'max' ? -Infinity : 0;
    let cnt = 0;
    for (let u = 0; u < k[0]; u++) for (let v = 0; v < k[1]; v++) {
      const yy = i * s[0] + u - pt;
      const xx = j * s[1] + v - pl;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      const val = x.data[((b * h + yy) * w + xx) * c + ch]!;
      acc = kind === 'max' ? Math.max(acc, val) : acc + val;
      cnt++;
    }
    y.data[((b * oh + i) * ow + j) * c + ch] = kind === 'max' ? acc : acc / cnt;
  }
  return y;
}

/** Elementwise map. */
export const map = (x: Arr, f: (v: number, i: number) => number): Arr => ({ shape: [...x.shape], data: x.data.map(f) });

/** Batch norm over the last axis. */
export function bn(x: Arr, gamma: Arr, beta: Arr, mean: Arr, variance: Arr, eps: number): Arr {
  const c = x.shape[x.shape.length - 1]!;
  return map(x, (v, i) => {
    const ch = i % c;
    return ((v - mean.data[ch]!) / Math.sqrt(variance.data[ch]! + eps)) * gamma.data[ch]! + beta.data[ch]!;
  });
}

/** x [n, k] times kernel [k, m] plus bias. */
export function dense(x: Arr, kernel: Arr, bias: Arr): Arr {
  const [n, k] = x.shape as [number, number];
  const m = kernel.shape[1]!;
  const y = arr([n, m]);
  for (let b = 0; b < n; b++) for (let j = 0; j < m; j++) {
    let acc = bias.data[j]!;
    for (let i = 0; i < k; i++) acc += x.data[b * k + i]! * kernel.data[i * m + j]!;
    y.data[b * m + j] = acc;
  }
  return y;
}

export function softmaxLast(x: Arr): Arr {
  const c = x.shape[x.shape.length - 1]!;
  const y = arr([...x.shape]);
  for (let r = 0; r < x.data.length / c; r++) {
    let mx = -Infinity;
    for (let i = 0; i < c; i++) mx = Math.max(mx, x.data[r * c + i]!);
    let s = 0;
    for (let i = 0; i < c; i++) s += Math.exp(x.data[r * c + i]! - mx);
    for (let i = 0; i < c; i++) y.data[r * c + i] = Math.exp(x.data[r * c + i]! - mx) / s;
  }
  return y;
}

/** Concatenation on the last axis of two NHWC arrays. */
export function concatLast(a: Arr, b: Arr): Arr {
  const ca = a.shape[a.shape.length - 1]!;
  const cb = b.shape[b.shape.length - 1]!;
  const rows = a.data.length / ca;
  const y = arr([...a.shape.slice(0, -1), ca + cb]);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < ca; i++) y.data[r * (ca + cb) + i] = a.data[r * ca + i]!;
    for (let i = 0; i < cb; i++) y.data[r * (ca + cb) + ca + i] = b.data[r * cb + i]!;
  }
  return y;
}

export function zeroPad(x: Arr, t: number, bo: number, l: number, r: number): Arr {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const oh = h + t + bo;
  const ow = w + l + r;
  const y = arr([n, oh, ow, c]);
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let ch = 0; ch < c; ch++) {
    y.data[((b * oh + i + t) * ow + j + l) * c + ch] = x.data[((b * h + i) * w + j) * c + ch]!;
  }
  return y;
}

/** Nearest upsampling by integer factors (each pixel repeated). */
export function upsample(x: Arr, sh: number, sw: number): Arr {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const y = arr([n, h * sh, w * sw, c]);
  for (let b = 0; b < n; b++) for (let i = 0; i < h * sh; i++) for (let j = 0; j < w * sw; j++) for (let ch = 0; ch < c; ch++) {
    y.data[((b * h * sh + i) * w * sw + j) * c + ch] = x.data[((b * h + Math.floor(i / sh)) * w + Math.floor(j / sw)) * c + ch]!;
  }
  return y;
}

/** Mean or max over the spatial axes of [n, ..., c] -> [n, c]. */
export function globalPool(x: Arr, kind: 'avg' | 'max'): Arr {
  const n = x.shape[0]!;
  const c = x.shape[x.shape.length - 1]!;
  const per = x.data.length / n / c;
  const y = arr([n, c]);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
    let acc = kind === 'max' ? -Infinity : 0;
    for (let p = 0; p < per; p++) {
      const v = x.data[(b * per + p) * c + ch]!;
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
    }
    y.data[b * c + ch] = kind === 'max' ? acc : acc / per;
  }
  return y;
}

/**
 * TF conv2d_transpose: the adjoint of the forward conv (out -> x) with kernel [kh,kw,co,ci];
 * SAME pads are those of the forward conv: total = max((H-1)*s + k - outH, 0), top = total/2 floored.
 */
export function convTranspose(x: Arr, k: Arr, bias: Arr | null, s: [number, number], padding: 'same' | 'valid', outH: number, outW: number): Arr {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const [kh, kw, co] = k.shape as [number, number, number, number];
  const pt = padding === 'same' ? Math.floor(Math.max((h - 1) * s[0] + kh - outH, 0) / 2) : 0;
  const pl = padding === 'same' ? Math.floor(Math.max((w - 1) * s[1] + kw - outW, 0) / 2) : 0;
  const y = arr([n, outH, outW, co]);
  for (let b = 0; b < n; b++) for (let i = 0; i < outH; i++) for (let j = 0; j < outW; j++) for (let o = 0; o < co; o++) {
    y.data[((b * outH + i) * outW + j) * co + o] = bias ? bias.data[o]! : 0;
  }
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let c = 0; c < ci; c++) {
    for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) for (let o = 0; o < co; o++) {
      const yy = i * s[0] + u - pt;
      const xx = j * s[1] + v - pl;
      if (yy < 0 || yy >= outH || xx < 0 || xx >= outW) continue;
      const at = ((b * outH + yy) * outW + xx) * co + o;
      y.data[at] = y.data[at]! + x.data[((b * h + i) * w + j) * ci + c]! * k.data[((u * kw + v) * co + o) * ci + c]!;
    }
  }
  return y;
}
