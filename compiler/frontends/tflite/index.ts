/**
 * TFLite frontend: `loadTfliteFile(model.tflite)` / `importTflite(bytes)` -> Graph. See README.md
 * (the TFLite section) for the supported builtin operators.
 */
export { importTflite, loadTfliteFile } from './import.js';
export type { TfliteImportOptions } from './import.js';
export { readTflite } from './schema.js';
