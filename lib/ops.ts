// Typed wrappers over the op table. Validation happens natively; these only forward.
import type { Ops } from '../types';
import { native } from './native';

export const ops: Ops = {
  matmul: (a, b, options) => native.matmul(a, b, options),
  groupedMatmul: (x, w, groupSizes, options) => native.groupedMatmul(x, w, groupSizes, options),
  groupedWeightGrad: (x, dy, groupSizes) => native.groupedWeightGrad(x, dy, groupSizes),
  newtonSchulz: (x, options) => native.newtonSchulz(x, options),
};
