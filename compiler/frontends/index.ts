/**
 * Model loading by format: `.onnx` (or ONNX protobuf content) -> ONNX importer; TF.js
 * `model.json` (or JSON content, or a folder holding model.json) -> TF.js importer; `.tflite` (or
 * the flatbuffer identifier "TFL3" at bytes 4..8) -> TFLite importer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph } from '../ir/graph.js';
import { Limits, invalid } from '../errors.js';
import { loadOnnxFile } from './onnx/import.js';
import { loadTfjsModel } from './tfjs/index.js';
import { loadTfliteFile } from './tflite/index.js';

export interface LoadModelOptions {
  limits?: Limits;
  /** File name for error messages (default: the path). */
  file?: string;
  /** Fix input shapes: input name -> concrete shape. */
  inputShapes?: Record<string, number[]>;
  /** Replace unknown input dims with 1 (default true). */
  symbolicToOne?: boolean;
}

export type ModelFormat = 'onnx' | 'tfjs' | 'tflite';

/** Which frontend reads `file`: by extension first, then by the first non-blank byte. */
export function detectModelFormat(file: string): ModelFormat {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw invalid('cannot read model file', { file, hint: 'check the path' });
  }
  if (st.isDirectory()) {
    if (fs.existsSync(path.join(file, 'model.json'))) return 'tfjs';
    throw invalid('model path is a folder without a model.json', { file });
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.onnx') return 'onnx';
  if (ext === '.json') return 'tfjs';
  if (ext === '.tflite') return 'tflite';
  const fd = fs.openSync(file, 'r');
  try {
    const head = new Uint8Array(64);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (n >= 8 && String.fromCharCode(...head.subarray(4, 8)) === 'TFL3') return 'tflite';
    const text = new TextDecoder().decode(head.subarray(0, n)).trimStart();
    return text.startsWith('{') ? 'tfjs' : 'onnx';
  } finally {
    fs.closeSync(fd);
  }
}

/** Loads a model file of any supported format into a Graph. */
export function loadModelFile(file: string, opts: LoadModelOptions = {}): Graph {
  const fmt = detectModelFormat(file);
  if (fmt === 'tfjs') {
    const json = fs.statSync(file).isDirectory() ? path.join(file, 'model.json') : file;
    return loadTfjsModel(json, { ...opts, file: opts.file ?? json });
  }
  if (fmt === 'tflite') return loadTfliteFile(file, { ...opts, ...(opts.file ? { file: opts.file } : {}) });
  return loadOnnxFile(file, { ...opts, ...(opts.file ? { file: opts.file } : {}) });
}
