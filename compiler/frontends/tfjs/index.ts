/**
 * TF.js frontend: `loadTfjsModel(model.json)` -> Graph, for graph models (TF GraphDef JSON) and
 * layers models (Keras topology). Weights come from the manifest's shards, confined to the
 * model's folder.
 */
import * as path from 'node:path';
import { Graph } from '../../ir/graph.js';
import { DEFAULT_LIMITS, EdgecError, ErrorContext, invalid, unsupported } from '../../errors.js';
import { inferShapes } from '../../interp/interp.js';
import { isObj, own, readModelJson, readWeights, show } from './load.js';
import { TfjsImportOptions, convertGraphModel } from './graph-model.js';
import { convertLayersModel } from './layers-model.js';

export type { TfjsImportOptions } from './graph-model.js';
export { parseJsonSafe } from './load.js';

/** Loads a TF.js model.json (graph model or layers model) and its weight shards into a Graph. */
export function loadTfjsModel(modelJsonPath: string, opts: TfjsImportOptions = {}): Graph {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const file = opts.file ?? modelJsonPath;
  const fctx: ErrorContext = { file };
  const j = readModelJson(modelJsonPath, limits, fctx);
  const topo = own(j, 'modelTopology');
  let format = own(j, 'format');
  if (format === undefined && isObj(topo)) {
    format = Array.isArray(own(topo, 'node')) ? 'graph-model' : 'layers-model';
  }
  if (!isObj(topo)) throw invalid('model.json has no modelTopology object', { ...fctx, hint: 'is this a TF.js model.json?' });
  const baseDir = path.dirname(path.resolve(modelJsonPath));
  const weights = readWeights(own(j, 'weightsManifest'), baseDir, { limits, ctx: fctx });
  const o = { graphName: path.basename(baseDir), ...opts, file };
  let g: Graph;
  if (format === 'graph-model') g = convertGraphModel(j, weights, o, limits).g;
  else if (format === 'layers-model') g = convertLayersModel(j, weights, o, limits).g;
  else throw unsupported(`TF.js model format "${show(format)}" is not supported (graph-model and layers-model are)`, fctx);
  // weights that were re-laid out (HWIO -> OIHW) or never used leave unused constants behind
  g.removeUnusedValues();
  try {
    inferShapes(g);
  } catch (e) {
    if (e instanceof EdgecError) throw e.withContext(fctx);
    throw e;
  }
  return g;
}
