// optim: Muon (Moonlight's variant, with an internal AdamW), AdamW, schedules and clipping.
export { Muon, muonScale, isMuonParameter } from './muon';
export type { MuonOptions, MuonScale } from './muon';
export { AdamW } from './adamw';
export type { AdamWOptions } from './adamw';
export { cosineLr, wsdLr, gradNorm, clipGradNorm } from './schedule';
export type { ScheduleOptions } from './schedule';
