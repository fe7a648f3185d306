// nn: the Moonlight model and its parts.
export { MoonlightModel } from './model';
export type { LossOptions, ModelOptions } from './model';
export { Parameter } from './parameter';
export type { ParameterKind, ParameterOptions } from './parameter';
export { countParameters, flopsPerToken, parseConfig, presets, moonlight16bA3b, tiny, small } from './config';
export type { MoonlightConfig, ParameterCounts, PresetName } from './config';
