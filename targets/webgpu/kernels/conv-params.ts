/** Shared parameters of the conv2d kernels (NCHW input, [K, C/group, KH, KW] weights). */
import { Activation } from '../wgsl/shader.js';
import { BaseParams } from './types.js';

export interface ConvParams extends BaseParams {
  N: number; C: number; H: number; W: number;
  K: number; OH: number; OW: number; KH: number; KW: number;
  sh: number; sw: number; dh: number; dw: number; ph: number; pw: number;
  group: number;
  bias: boolean;
  act: Activation | null;
}
