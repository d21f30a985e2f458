/**
 * The profiler and trade-off reports: the entry points the CLI's `edgec profile` and
 * `edgec report` commands call (see profile.ts and report.ts).
 */
export { DEVICES, PRECISIONS, builtinDevice, deviceNames, loadDeviceFile, resolveDevice, validateDevice } from './devices.js';
export type { DeviceProfile, MemoryTier, Precision } from './devices.js';
export { VIEW_OPS, arenaBytes, bytesOf, estimateLayer, estimateModel, layerCosts, precisionOfDType, weightBytes } from './estimate.js';
export type { DeviceEstimate, LayerBytes, LayerCost, LayerEstimate } from './estimate.js';
export { measureReference, measureWasm, measureWasmModel, median, randomInputs } from './measure.js';
export type { MeasureOptions, Measurement, ProfiledModel } from './measure.js';
export { calibrateHostDevice, profileGraph, renderProfileTable } from './profile.js';
export type { MeasureEngine, ProfileDevice, ProfileLayer, ProfileOptions, ProfileResult, EmulatedRun } from './profile.js';
export { buildReport, compareConfigs, configFromProfile, defaultObjectives, escapeHtml, escapeMd, paretoFront } from './report.js';
export type { MeasuredConfig, Objective, ReportConfig, ReportJson, ReportOptions } from './report.js';
