// The ops, straight from the addon's op list (native/op_list.h): one entry per op, validated
// natively. ops.supports says whether a device's backend implements an op.
import type { Device, OpsApi } from '../types/core';
import { native } from './native';

const list = native.opList();
const backends = new Map(list.map((op) => [op.name as string, op.backends]));

function supports(name: string, device: Device): boolean {
  const found = backends.get(name);
  if (!found) throw new Error(`ops.supports: expected the name of an op (one of ${[...backends.keys()].join(', ')}), got ${JSON.stringify(name)}`);
  if (device !== 'cpu' && device !== 'cuda') throw new Error(`ops.supports: expected device 'cpu' or 'cuda', got ${JSON.stringify(device)}`);
  return found.includes(device);
}

export const ops = Object.freeze(
  Object.assign(Object.fromEntries(list.map((op) => [op.name, native[op.name]])), { supports }),
) as unknown as OpsApi;

/** The op list with the backends of each (info().ops). */
export function opList(): { name: string; backends: Device[] }[] {
  return list.map((op) => ({ name: op.name, backends: [...op.backends] }));
}
