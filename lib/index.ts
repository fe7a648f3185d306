// moontrain's public API. Its shape is declared in types/index.d.ts; the checks below make the
// compiler hold this implementation to those declarations.
import type * as Api from '../types';
import { ops } from './ops';
import { debug, info, setNumThreads } from './runtime';
import { Tensor, tensor } from './tensor';

export { Tensor, tensor, ops, info, setNumThreads, debug };

const conforms: {
  tensor: typeof Api.tensor;
  ops: typeof Api.ops;
  info: typeof Api.info;
  setNumThreads: typeof Api.setNumThreads;
  debug: typeof Api.debug;
} = { tensor, ops, info, setNumThreads, debug };
void conforms;
