// dist: ranks as processes, shared-memory ring collectives, ZeRO-1 with Distributed Muon.
export { Communicator, init, cleanupStale, segmentPath } from './comm';
export { launch, newJobName } from './launch';
export { ZeroOptimizer } from './zero';
export type { ZeroOptions } from './zero';
