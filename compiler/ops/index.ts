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
import './signal.js';
import './detection.js';
import './ml.js';
import './imagedecode.js';
import './attention.js';
import './control-flow.js';
import './rnn.js';
import './sequence.js';
import './loss.js';

export * from './registry.js';
