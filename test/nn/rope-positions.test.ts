// The model rotates queries and keys at their positions 0..S−1 within each sequence (what the
// RoPE op tests cannot see): the positions the attention passes to ops.rope, and the effect that
// follows, order mattering to the last token's prediction.
import test from 'ava';
import { nn } from '../../lib';
import { microConfig } from '../helpers/micro-run';

test('the model gives RoPE the positions 0..S-1 of every sequence, forward and backward', (t) => {
  const model = new nn.MoonlightModel(microConfig as never, { precision: 'f32', seed: 4 });
  const B = 3, S = 7;
  const ids = Int32Array.from({ length: B * S }, (_, i) => (i * 37) % 300);
  // Every RoPE application of every layer (queries and keys, forward and inverse in backward)
  // goes through the attention's rope(); record the positions it hands to ops.rope.
  const seen: Int32Array[] = [];
  type Rotating = { rope: (...args: unknown[]) => unknown; batch: { positions: { toInt32Array(): Int32Array } } };
  for (const layer of model.layers) {
    const attn = layer.attn as unknown as Rotating;
    const rope = attn.rope.bind(attn);
    attn.rope = (...args: unknown[]) => {
      seen.push(attn.batch.positions.toInt32Array());
      return rope(...args);
    };
  }
  model.loss(ids, ids, [B, S]);
  model.backward();
  t.true(seen.length >= 4 * microConfig.num_hidden_layers, `${seen.length} calls`);
  const want = Int32Array.from({ length: B * S }, (_, i) => i % S);
  for (const p of seen) t.deepEqual(p, want);
  model.zeroGrad();
  model.dispose();
});

test('with positions, swapping two earlier tokens changes the next-token logits', (t) => {
  const model = new nn.MoonlightModel(microConfig as never, { precision: 'f32', seed: 4, initStd: 0.5 });
  const a = Int32Array.from([5, 17, 99, 42, 7, 250, 3]);
  const b = Int32Array.from([17, 5, 99, 42, 7, 250, 3]);
  const la = model.nextTokenLogits(a), lb = model.nextTokenLogits(b);
  let diff = 0, norm = 0;
  for (let i = 0; i < la.length; ++i) {
    diff = Math.max(diff, Math.abs(la[i]! - lb[i]!));
    norm = Math.max(norm, Math.abs(la[i]!));
  }
  // Without positions attention sees a set of tokens, and the two orders agree to rounding.
  t.true(diff > 1e-3 * norm, `max |Δlogit| ${diff} (max |logit| ${norm})`);
  model.dispose();
});
