// The devices the op tests run on. Each op test names the ops it checks with devicesFor([...]) and
// registers its test once per device returned; the test on 'cuda' puts its inputs on the GPU and
// compares with the same float64 references and tolerances as on the CPU. An op whose cuda flag
// is set in native/op_list.h is thereby tested on the GPU with no change to its test, and
// test/ops/cuda-coverage.test.ts fails when such an op is named in no devicesFor list.
//
// MOONTRAIN_TEST_DEVICES (comma-separated 'cpu', 'cuda') picks the devices; by default 'cpu',
// and 'cuda' too when a GPU is usable. scripts/ci/test-cuda-emu.js runs the op tests with
// MOONTRAIN_TEST_DEVICES=cuda on the emulated build (moontrain-emu.node).
import { info, ops } from '../../lib';
import type { Ops } from '../../types/core';

export type TestDevice = 'cpu' | 'cuda';

function testDevices(): TestDevice[] {
  const env = process.env.MOONTRAIN_TEST_DEVICES;
  const cuda = info().cuda;
  if (!env) return cuda.available ? ['cpu', 'cuda'] : ['cpu'];
  const list = env.split(',').map((s) => s.trim());
  for (const d of list) {
    if (d !== 'cpu' && d !== 'cuda') throw new Error(`MOONTRAIN_TEST_DEVICES: expected a comma-separated list of 'cpu' and 'cuda', got ${JSON.stringify(env)}`);
    if (d === 'cuda' && !cuda.available) throw new Error(`MOONTRAIN_TEST_DEVICES names 'cuda', but CUDA is not usable here: ${cuda.reason}`);
  }
  return list as TestDevice[];
}

export const TEST_DEVICES: readonly TestDevice[] = testDevices();

/**
 * The test devices whose backend implements every op of `opNames`. Write the list literally:
 * test/ops/cuda-coverage.test.ts reads it from the test's text.
 */
export function devicesFor(opNames: readonly (keyof Ops)[]): TestDevice[] {
  return TEST_DEVICES.filter((d) => opNames.every((name) => ops.supports(name, d)));
}

/** The suffix of a test title on `device`: none on the CPU, ' [cuda]' on the GPU. */
export function onDevice(device: TestDevice): string {
  return device === 'cpu' ? '' : ` [${device}]`;
}
