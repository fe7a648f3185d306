// Where a model trains. The CPU always works; 'cuda' needs a usable GPU and a CUDA kernel for
// every op of the op list (the model's forward, backward and optimizers use nearly all of them),
// and says which are missing rather than failing in the middle of a step.
import type { Device } from '../../types/core';
import { info } from '../runtime';

export function checkDevice(where: string, device: unknown): Device {
  if (device === undefined || device === 'cpu') return 'cpu';
  if (device !== 'cuda') throw new Error(`${where}: option 'device': expected 'cpu' or 'cuda', got ${JSON.stringify(device)}`);
  const i = info();
  if (!i.cuda.available) throw new Error(`${where}: device 'cuda': no usable GPU: ${i.cuda.reason ?? 'CUDA is not available'}`);
  const missing = i.ops.filter((op) => !op.backends.includes('cuda')).map((op) => op.name);
  if (missing.length) throw new Error(`${where}: device 'cuda': no CUDA kernel yet for ${missing.join(', ')}`);
  return 'cuda';
}
