/**
 * Registers every op. Importing this module fills the registry; one file per op family.
 */
import './elementwise.js';
import './activation.js';
import './conv.js';
import './matmul.js';
import './pool.js';
import './norm.js';
import './shape.js';
import './reduce.js';
import './image.js';
import './quant.js';
import './control.js';
import './qint.js';
import './qonnx.js';
import './f16.js';

export * from './registry.js';
