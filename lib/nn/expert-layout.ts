// The two Hugging Face layouts of routed-expert weights. DeepSeek-V3 and Moonlight checkpoints
// hold one matrix per expert (`….experts.<j>.gate_proj.weight`); transformers v5 holds one
// tensor per projection pair: `….experts.gate_up_proj` [E, 2I, D] (gate rows first, then up)
// and `….experts.down_proj` [E, D, I]. moontrain's own stacks are gate/up/down [E, rows, cols].

export type ExpertFormat = 'per-expert' | 'fused';

/** The per-expert name of expert j for a stacked name "….experts.<proj>.weight". */
export function expertName(stacked: string, j: number): string {
  return stacked.replace(/\.experts\./, `.experts.${j}.`);
}

/** Where a stacked projection lives in the fused layout: the tensor's name and which half (gate_up only). */
export function fusedLocation(stacked: string): { name: string; half: 0 | 1 | null } {
  const m = /^(.*\.experts)\.(gate_proj|up_proj|down_proj)\.weight$/.exec(stacked);
  if (!m) throw new Error(`fusedLocation: not a stacked expert name: ${stacked}`);
  if (m[2] === 'down_proj') return { name: `${m[1]}.down_proj`, half: null };
  return { name: `${m[1]}.gate_up_proj`, half: m[2] === 'gate_proj' ? 0 : 1 };
}
