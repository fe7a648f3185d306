// Expert-load balance of a step, per MoE layer, from the tokens each routed expert received
// (summed over the step's micro-batches and ranks): max/mean and min/mean of the loads, their
// coefficient of variation (population standard deviation / mean), the experts that received no
// token, and the L2 norm of the router's correction bias after the step's update. Plus three
// figures over the layers: the worst max/mean, the mean CV and the idle experts in all.

/** The metrics of one MoE layer, keyed `moe/layer<i>/<name>` (i: the decoder layer's index). */
export function expertLoadMetrics(layer: number, load: ArrayLike<number>, bias: ArrayLike<number>): Record<string, number> {
  const E = load.length;
  let sum = 0, max = -Infinity, min = Infinity, idle = 0;
  for (let i = 0; i < E; ++i) {
    const l = load[i]!;
    sum += l;
    max = Math.max(max, l);
    min = Math.min(min, l);
    if (l === 0) idle++;
  }
  const mean = sum / E;
  let sq = 0;
  for (let i = 0; i < E; ++i) sq += (load[i]! - mean) ** 2;
  let norm = 0;
  for (let i = 0; i < bias.length; ++i) norm += bias[i]! ** 2;
  const p = `moe/layer${layer}/`;
  return {
    [`${p}load_max_over_mean`]: mean > 0 ? max / mean : NaN,
    [`${p}load_min_over_mean`]: mean > 0 ? min / mean : NaN,
    [`${p}load_cv`]: mean > 0 ? Math.sqrt(sq / E) / mean : NaN,
    [`${p}experts_idle`]: idle,
    [`${p}router_bias_norm`]: Math.sqrt(norm),
  };
}

/** The figures over all layers: worst max/mean, mean CV, idle experts summed. */
export function expertLoadSummary(perLayer: Record<string, number>[]): Record<string, number> {
  if (perLayer.length === 0) return {};
  const pick = (name: string) => perLayer.map((m) => Object.entries(m).find(([k]) => k.endsWith(`/${name}`))![1]);
  const cv = pick('load_cv');
  return {
    'moe/load_max_over_mean': Math.max(...pick('load_max_over_mean')),
    'moe/load_cv': cv.reduce((a, b) => a + b, 0) / cv.length,
    'moe/experts_idle': pick('experts_idle').reduce((a, b) => a + b, 0),
  };
}
