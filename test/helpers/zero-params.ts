// Hand-made parameters for the Distributed-Muon tests: matrices of several shapes, an expert
// stack and 1-D parameters, with sizes that make rank boundaries cut matrices (510 elements: at 2,
// 3 and 4 ranks the boundaries cut down_proj and the expert stack).
import { nn, tensor } from '../../lib';
import { numel } from '../../lib/shape';

export function makeParams(dtype: 'f32' | 'bf16' = 'f32'): nn.Parameter[] {
  const specs: [string, number[], nn.ParameterKind][] = [
    ['model.embed_tokens.weight', [11, 6], 'embedding'],
    ['model.layers.0.self_attn.q_proj.weight', [9, 6], 'matrix'],
    // 204 elements, more than a rank's share at 4 ranks: rank 1 then holds only a middle part of it.
    ['model.layers.0.mlp.down_proj.weight', [17, 12], 'matrix'],
    ['model.layers.0.input_layernorm.weight', [6], 'norm'],
    ['model.layers.1.mlp.experts.up_proj.weight', [3, 5, 6], 'experts'],
    ['model.layers.1.mlp.gate.weight', [4, 6], 'matrix'],
    ['lm_head.weight', [11, 6], 'head'],
  ];
  return specs.map(([name, shape, kind], i) => {
    const n = numel(shape);
    return new nn.Parameter(tensor(Float32Array.from({ length: n }, (_, k) => 0.1 * Math.cos(k * 0.71 + i)), shape, { dtype }), { name, kind });
  });
}
