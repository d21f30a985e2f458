/**
 * A small graph builder for tests and frontends.
 *
 * ```ts
 * const b = new GraphBuilder();
 * const x = b.input('x', 'f32', [1, 3, 8, 8]);
 * const w = b.const('w', Tensor.from('f32', [8, 3, 3, 3], data));
 * const y = b.node('Conv', [x, w], { pads: [1, 1, 1, 1] });
 * b.output(y);
 * const g = b.build(); // runs shape inference
 * ```
 */
import { AttrValue, Graph, ValueId } from './graph.js';
import { Shape, Tensor, TensorType } from './tensor.js';
import { DType } from './dtype.js';
import { inferNode, inferShapes } from '../interp/interp.js';

export interface NodeOptions {
  /** Op domain ('' = ai.onnx; 'edgec' for internal ops). */
  domain?: string;
  /** Node name (default `<op>_<id>`). */
  name?: string;
  /** Output value names (default `<node name>` / `<node name>:<k>`). */
  outputNames?: string[];
}

/** Builds a Graph node by node; node output types are inferred as nodes are added. */
export class GraphBuilder {
  readonly g = new Graph();

  /** @param name graph name @param opsets opset per domain (default {'': 17}) */
  constructor(name = 'graph', opsets?: Record<string, number>) {
    this.g.name = name;
    if (opsets) this.g.opsets = { ...opsets };
  }

  /** Adds a graph input. @param name public name @param dtype element type @param shape dims (numbers or symbols) */
  input(name: string, dtype: DType, shape: Shape): ValueId {
    const v = this.g.addValue(name, { dtype, shape });
    this.g.inputs.push(v.id);
    return v.id;
  }

  /**
   * Adds a constant. @param name its name
   * @param t a Tensor, or a dtype with `shape` and `values`
   */
  const(name: string, t: Tensor): ValueId;
  const(name: string, dtype: DType, shape: readonly number[], values: ArrayLike<number | bigint | boolean>): ValueId;
  const(name: string, t: Tensor | DType, shape?: readonly number[], values?: ArrayLike<number | bigint | boolean>): ValueId {
    const tensor = t instanceof Tensor ? t : Tensor.from(t, shape ?? [], values ?? []);
    return this.g.addConst(name, tensor).id;
  }

  /**
   * Adds a single-output node and returns its output.
   * @param op op name @param inputs value ids (null: omitted optional input) @param attrs attributes
   */
  node(op: string, inputs: (ValueId | null)[], attrs: Record<string, AttrValue> = {}, opts: NodeOptions = {}): ValueId {
    return this.nodeN(op, inputs, 1, attrs, opts)[0]!;
  }

  /** Adds a node with `nOutputs` outputs and returns them. */
  nodeN(op: string, inputs: (ValueId | null)[], nOutputs: number, attrs: Record<string, AttrValue> = {},
    opts: NodeOptions = {}): ValueId[] {
    const nodeName = opts.name ?? `${op}_${this.g.nodes.size}`;
    const placeholder: TensorType = { dtype: 'f32', shape: [] };
    const outs: ValueId[] = [];
    for (let k = 0; k < nOutputs; k++) {
      const vname = opts.outputNames?.[k] ?? (nOutputs === 1 ? nodeName : `${nodeName}:${k}`);
      outs.push(this.g.addValue(vname, placeholder).id);
    }
    const n = this.g.addNode({ op, domain: opts.domain ?? '', inputs, outputs: outs, attrs, name: nodeName });
    inferNode(this.g, n);
    return outs;
  }

  /** Marks values as graph outputs. */
  output(...ids: ValueId[]): void {
    this.g.outputs.push(...ids);
  }

  /** Type of a value built so far. */
  typeOf(id: ValueId): TensorType {
    return this.g.typeOf(id);
  }

  /** Finishes the graph (re-runs shape inference over the whole graph) and returns it. */
  build(): Graph {
    inferShapes(this.g);
    return this.g;
  }
}
