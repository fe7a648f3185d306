// The outside oracle for checkpoints: transformers' DeepseekV3ForCausalLM loads a moontrain
// checkpoint and gives moontrain's logits, and its save_pretrained output loads back into
// moontrain with transformers' logits (f32, relative 1e-4), rope_interleave true and false, both
// expert layouts. Skipped, with the reason, where no Python with transformers is installed (the
// GPU host's device run has one).
import test from 'ava';
import { TOLERANCE, hfCheck, transformersAvailable } from '../../bench/anchors/hf-check';

const missing = transformersAvailable();

(missing ? test.skip : test)('transformers loads moontrain checkpoints and moontrain loads save_pretrained', (t) => {
  for (const c of hfCheck()) {
    const label = `rope_interleave=${c.rope_interleave} ${c.format}`;
    t.true(c.loadRel <= TOLERANCE, `${label}: transformers vs moontrain ${c.loadRel}`);
    t.true(c.reloadRel <= TOLERANCE, `${label}: save_pretrained (${c.savedLayout}) back in moontrain ${c.reloadRel}`);
  }
});
if (missing) {
  test('transformers check (skipped)', (t) => {
    t.log(`skipped: ${missing}`);
    t.pass();
  });
}
