/** The kernel-generator contract: a kernel id and a pure function from parameters to a WGSL program. */
import { BufKind, KernelProgram } from '../wgsl/shader.js';

/** Parameters every kernel receives: JSON data (shapes, attributes) plus where each operand lives. */
export interface BaseParams {
  /** Buffer of each operand that may be a constant (absent: arena). */
  bufs?: Record<string, BufKind>;
}

/** One kernel: id (snake_case with layout/type suffix) and its WGSL generator. */
export interface KernelGen<P extends BaseParams = BaseParams> {
  readonly id: string;
  gen(p: P): KernelProgram;
}

/** Buffer of operand `name` (default arena). */
export function bufOf(p: BaseParams, name: string): BufKind {
  return p.bufs?.[name] ?? 'arena';
}
