/**
 * Small valid seed models built in code with onnx-proto. Reliability tests mutate a seed into
 * one bad-input class each, so every failure is the one named and nothing else.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import onnxproto from 'onnx-proto';
import { expect } from 'vitest';
import { cli } from '../cli/helpers.js';

export const { onnx } = onnxproto;
export type IModel = onnxproto.onnx.IModelProto;
export type IGraph = onnxproto.onnx.IGraphProto;
export type INode = onnxproto.onnx.INodeProto;
export type ITensor = onnxproto.onnx.ITensorProto;

export const FLOAT = 1;

export function f32raw(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

export function vi(name: string, dims: (number | string)[], elemType = FLOAT): onnxproto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export function init(name: string, dims: number[], values: number[]): ITensor {
  return { name, dataType: FLOAT, dims, rawData: f32raw(values) };
}

/** y = Relu(x + w), x: f32[1,4], w: initializer f32[1,4]. Opset 13. */
export function seedAdd(): IModel {
  return {
    irVersion: 7,
    producerName: 'seed',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'seed',
      input: [vi('x', [1, 4])],
      output: [vi('y', [1, 4])],
      initializer: [init('w', [1, 4], [0.5, -1, 2, -3])],
      node: [
        { opType: 'Add', input: ['x', 'w'], output: ['a'], name: 'add' },
        { opType: 'Relu', input: ['a'], output: ['y'], name: 'relu' },
      ],
    },
  };
}

/** y = Conv(x, w, b) with 3x3 kernel, pads 1: x f32[1,2,5,5], w f32[2,2,3,3]. Opset 13. */
export function seedConv(attrs: onnxproto.onnx.IAttributeProto[] = []): IModel {
  const w = Array.from({ length: 36 }, (_, i) => ((i * 7) % 11) / 10 - 0.5);
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'conv',
      input: [vi('x', [1, 2, 5, 5])],
      output: [vi('y', [1, 2, 5, 5])],
      initializer: [init('w', [2, 2, 3, 3], w), init('b', [2], [0.1, -0.1])],
      node: [{ opType: 'Conv', input: ['x', 'w', 'b'], output: ['y'], name: 'conv', attribute: attrs }],
    },
  };
}

export const INT = onnx.AttributeProto.AttributeType.INT;
export const INTS = onnx.AttributeProto.AttributeType.INTS;
export const ints = (name: string, v: number[]): onnxproto.onnx.IAttributeProto => ({ name, type: INTS, ints: v });
export const int = (name: string, v: number): onnxproto.onnx.IAttributeProto => ({ name, type: INT, i: v });

export function encode(m: IModel): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(m as Record<string, unknown>)).finish();
}

/** Writes bytes as DIR/model.onnx and returns the path. */
export function writeModel(dir: string, bytes: Uint8Array | IModel, name = 'model.onnx'): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes instanceof Uint8Array ? bytes : encode(bytes));
  return p;
}

/**
 * Compiles MODEL to DIR/out and checks the failure: the exit code, one line on stderr naming
 * the problem (no stack trace), and no output folder or staging folder left behind.
 */
export async function expectCompileFails(dir: string, model: string, code: number, pattern: RegExp, extra: string[] = []): Promise<string> {
  const out = path.join(dir, 'out');
  const r = await cli('compile', model, '--target', 'onnx', '-o', out, ...extra);
  expectOneLine(r, code, pattern);
  expect(fs.existsSync(out), 'output folder left behind').toBe(false);
  expect(fs.readdirSync(dir).filter((f) => f.includes('.edgec-')), 'staging folders left behind').toEqual([]);
  return r.err;
}

/** Checks exit code and a single `edgec: error:` line matching `pattern`. */
export function expectOneLine(r: { code: number; err: string }, code: number, pattern: RegExp): void {
  expect(r.err, r.err).toMatch(/^edgec: error: [^\n]*\n$/);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.code, r.err).toBe(code);
}
