/**
 * Op family: image file decoding (ImageDecoder), for the lossless formats whose decoding is small
 * and exact: uncompressed BMP (24/32-bit BI_RGB) and binary PNM (P5 gray, P6 RGB, maxval 255).
 * Other formats (JPEG, PNG, WebP, TIFF, JPEG 2000, ...) are reported as 'unsupported' by name.
 */
import { Tensor } from '../ir/tensor.js';
import { DEFAULT_LIMITS, invalid, limit, unsupported } from '../errors.js';
import { defineOp, need } from './registry.js';

type PixelFormat = 'RGB' | 'BGR' | 'Grayscale';

/** A decoded image: height x width RGB triples, row-major. */
interface Rgb {
  h: number;
  w: number;
  rgb: Uint8Array;
}

/** Name of a recognized but undecoded format, or undefined. */
function otherFormat(b: Uint8Array): string | undefined {
  const starts = (...s: number[]) => s.every((v, i) => b[i] === v);
  if (starts(0xff, 0xd8, 0xff)) return 'JPEG';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'PNG';
  if (starts(0x52, 0x49, 0x46, 0x46) && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return 'WebP';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'TIFF';
  if (starts(0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50) || starts(0xff, 0x4f, 0xff, 0x51)) return 'JPEG 2000';
  if (starts(0x47, 0x49, 0x46)) return 'GIF';
  return undefined;
}

/** Checks that an h x w image fits the tensor size limit. */
function checkSize(h: number, w: number): void {
  if (!(h > 0 && w > 0)) throw invalid(`ImageDecoder: image size ${w}x${h} is empty`);
  if (h * w * 3 > DEFAULT_LIMITS.maxTensorBytes) throw limit(`ImageDecoder: a ${w}x${h} image exceeds the tensor size limit`);
}

/** Uncompressed BMP (BITMAPINFOHEADER or later, 24 or 32 bits per pixel, BI_RGB; bottom-up or top-down rows). */
function decodeBmp(b: Uint8Array): Rgb {
  if (b.length < 54) throw invalid('ImageDecoder: BMP data is truncated');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dataOff = dv.getUint32(10, true);
  const hdr = dv.getUint32(14, true);
  if (hdr < 40) throw unsupported(`ImageDecoder: BMP header of ${hdr} bytes (OS/2 bitmaps) is not supported`);
  const w = dv.getInt32(18, true);
  const hs = dv.getInt32(22, true);
  const bpp = dv.getUint16(28, true);
  const comp = dv.getUint32(30, true);
  if (comp !== 0 || (bpp !== 24 && bpp !== 32)) {
    throw unsupported(`ImageDecoder: BMP with ${bpp} bits per pixel and compression ${comp} is not supported (only uncompressed 24/32-bit)`);
  }
  const h = Math.abs(hs);
  checkSize(h, w);
  const stride = Math.ceil((bpp * w) / 32) * 4;
  if (dataOff + stride * (h - 1) + (w * bpp) / 8 > b.length) throw invalid('ImageDecoder: BMP pixel data is truncated');
  const rgb = new Uint8Array(h * w * 3);
  const px = bpp / 8;
  for (let y = 0; y < h; y++) {
    // positive height: rows are stored bottom-up
    const row = dataOff + (hs > 0 ? h - 1 - y : y) * stride;
    for (let x = 0; x < w; x++) {
      const s = row + x * px;
      const d = (y * w + x) * 3;
      rgb[d] = b[s + 2]!;
      rgb[d + 1] = b[s + 1]!;
      rgb[d + 2] = b[s]!;
    }
  }
  return { h, w, rgb };
}

/** Binary PNM: P5 (gray) or P6 (RGB) with maxval 255. */
function decodePnm(b: Uint8Array): Rgb {
  const gray = b[1] === 0x35;
  let p = 2;
  const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
  const field = (): number => {
    for (;;) {
      while (p < b.length && isSpace(b[p]!)) p++;
      if (b[p] !== 0x23) break;
      while (p < b.length && b[p] !== 0x0a && b[p] !== 0x0d) p++; // comment to end of line
    }
    let v = 0;
    let digits = 0;
    while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39 && digits < 10) {
      v = v * 10 + (b[p]! - 0x30);
      p++;
      digits++;
    }
    if (digits === 0) throw invalid('ImageDecoder: malformed PNM header');
    return v;
  };
  const w = field();
  const h = field();
  const maxval = field();
  if (!isSpace(b[p] ?? 0)) throw invalid('ImageDecoder: malformed PNM header');
  p++; // the single whitespace before the raster
  if (maxval !== 255) throw unsupported(`ImageDecoder: PNM with maxval ${maxval} is not supported (only 255)`);
  checkSize(h, w);
  const ch = gray ? 1 : 3;
  if (p + h * w * ch > b.length) throw invalid('ImageDecoder: PNM pixel data is truncated');
  const rgb = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = b[p + i * ch + (gray ? 0 : c)]!;
  }
  return { h, w, rgb };
}

// ImageDecoder(encoded uint8[n]) -> uint8 [H, W, 3] (RGB or BGR) or [H, W, 1] (Grayscale:
// L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, the ITU-R 601 luma in Pillow's fixed point)
export const ImageDecoder = defineOp<{ format: PixelFormat }>({
  name: 'ImageDecoder',
  domain: '',
  since: 20,
  arity: [1, 1],
  attrs: (r) => ({ format: r.oneOf('pixel_format', 'RGB', ['RGB', 'BGR', 'Grayscale'] as const) }),
  infer: (ctx, a) => {
    const x = need(ctx.inputs[0], 0, 'ImageDecoder');
    if (x.dtype !== 'u8' || x.shape.length !== 1) throw invalid(`ImageDecoder: input must be a 1-D uint8 tensor, got ${x.dtype} of rank ${x.shape.length}`);
    return [{ dtype: 'u8', shape: [ctx.freshDim('height'), ctx.freshDim('width'), a.format === 'Grayscale' ? 1 : 3] }];
  },
  ref: (ins, a) => {
    const x = need(ins[0], 0, 'ImageDecoder');
    if (x.dtype !== 'u8' || x.shape.length !== 1) throw invalid(`ImageDecoder: input must be a 1-D uint8 tensor, got ${x.dtype} of rank ${x.shape.length}`);
    const b = x.data as Uint8Array;
    let img: Rgb;
    if (b[0] === 0x42 && b[1] === 0x4d) img = decodeBmp(b);
    else if (b[0] === 0x50 && (b[1] === 0x35 || b[1] === 0x36)) img = decodePnm(b);
    else {
      const f = otherFormat(b);
      throw unsupported(f ? `ImageDecoder: ${f} decoding is not supported (only BMP and binary PNM)` : 'ImageDecoder: unrecognized image format');
    }
    const { h, w, rgb } = img;
    const n = h * w;
    if (a.format === 'Grayscale') {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (rgb[3 * i]! * 19595 + rgb[3 * i + 1]! * 38470 + rgb[3 * i + 2]! * 7471 + 0x8000) >> 16;
      return [new Tensor('u8', [h, w, 1], out)];
    }
    if (a.format === 'BGR') {
      const out = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        out[3 * i] = rgb[3 * i + 2]!;
        out[3 * i + 1] = rgb[3 * i + 1]!;
        out[3 * i + 2] = rgb[3 * i]!;
      }
      return [new Tensor('u8', [h, w, 3], out)];
    }
    return [new Tensor('u8', [h, w, 3], rgb)];
  },
  cost: () => ({ macs: 0, flops: 0 }),
});
