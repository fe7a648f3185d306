// Bindings of attention and its backward: read and validate every argument, then call the op table.
#include <cmath>
#include <string>

#include "../../core/error.h"
#include "../../op_table.h"
#include "../args.h"
#include "../errors.h"
#include "../op_bindings.h"
#include "../tensor_object.h"
#include "../validate.h"

namespace mt::napi {

using std::to_string;

namespace {

AttentionOptions attention_options(const Napi::Value& v, int64_t dk, const char* op) {
  Napi::Object o = options_arg(v, op);
  AttentionOptions a;
  a.scale = static_cast<float>(number_option(o, "scale", dk > 0 ? 1.0 / std::sqrt(static_cast<double>(dk)) : 1.0, op));
  a.causal = bool_option(o, "causal", true, op);
  a.keep_probs = bool_option(o, "keepProbs", false, op);
  return a;
}

// q [B,S,H,dk], k [B,S,H,dk], v [B,S,H,dv].
void check_qkv(const Tensor& q, const Tensor& k, const Tensor& v, const char* op) {
  require_rank(q, 4, 4, op, "q");
  require_rank(k, 4, 4, op, "k");
  require_rank(v, 4, 4, op, "v");
  require_shape(k, q.shape, op, "k", "as q");
  if (v.shape[0] != q.shape[0] || v.shape[1] != q.shape[1] || v.shape[2] != q.shape[2])
    throw ArgError(op, "v", "shape [" + to_string(q.shape[0]) + ", " + to_string(q.shape[1]) + ", " + to_string(q.shape[2]) +
                                ", dv] (B, S, H of q)",
                   shape_str(v.shape));
  require_same_dtype(k, q, op, "k", "q");
  require_same_dtype(v, q, op, "v", "q");
  require_same_device(k, q, op, "k", "q");
  require_same_device(v, q, op, "v", "q");
}

}  // namespace

Napi::Value bind_attention(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "attention";
    const Tensor& q = tensor_arg(info[0], op, "q");
    const Tensor& k = tensor_arg(info[1], op, "k");
    const Tensor& v = tensor_arg(info[2], op, "v");
    check_qkv(q, k, v, op);
    const AttentionOptions a = attention_options(info[3], q.shape[3], op);
    const OpTable& t = backend_for(q, op, "q", ops_for(q.device()).attention);
    AttentionResult r = t.attention(q, k, v, a);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("out", wrap(info.Env(), std::move(r.out)));
    out.Set("lse", wrap(info.Env(), std::move(r.lse)));
    if (a.keep_probs) out.Set("probs", wrap(info.Env(), std::move(r.probs)));
    return out;
  });
}

Napi::Value bind_attention_backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "attentionBackward";
    const Tensor& dout = tensor_arg(info[0], op, "dout");
    const Tensor& q = tensor_arg(info[1], op, "q");
    const Tensor& k = tensor_arg(info[2], op, "k");
    const Tensor& v = tensor_arg(info[3], op, "v");
    const Tensor& out = tensor_arg(info[4], op, "out");
    const Tensor& lse = tensor_arg(info[5], op, "lse");
    check_qkv(q, k, v, op);
    require_like(out, v, op, "out", "v");
    require_like(dout, v, op, "dout", "v");
    require_shape(lse, {q.shape[0], q.shape[2], q.shape[1]}, op, "lse", "[B, H, S] of q");
    require_f32(lse, op, "lse");
    require_same_device(lse, q, op, "lse", "q");
    const AttentionOptions a = attention_options(info[6], q.shape[3], op);
    const Tensor* probs = tensor_option(options_arg(info[6], op), "probs", op);
    if (probs) {
      require_shape(*probs, {q.shape[0], q.shape[2], q.shape[1], q.shape[1]}, op, "options.probs", "[B, H, S, S] of q");
      require_same_dtype(*probs, q, op, "options.probs", "q");
      require_same_device(*probs, q, op, "options.probs", "q");
    }
    const OpTable& t = backend_for(q, op, "q", ops_for(q.device()).attention_backward);
    AttentionGrads g = t.attention_backward(dout, q, k, v, out, lse, a, probs);
    Napi::Object r = Napi::Object::New(info.Env());
    r.Set("dq", wrap(info.Env(), std::move(g.dq)));
    r.Set("dk", wrap(info.Env(), std::move(g.dk)));
    r.Set("dv", wrap(info.Env(), std::move(g.dv)));
    return r;
  });
}

}  // namespace mt::napi
