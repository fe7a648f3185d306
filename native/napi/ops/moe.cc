// Bindings of MoE routing: route, permute, unpermute, the sequence balance loss and their backwards: read and validate every argument, then call the op table.
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

Napi::Value bind_moe_route(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moeRoute";
    const Tensor& logits = tensor_arg(info[0], op, "logits");
    const Tensor& bias = tensor_arg(info[1], op, "bias");
    require_rank(logits, 2, 2, op, "logits");
    require_f32(logits, op, "logits", "router logits are fp32");
    const int64_t E = logits.shape[1];
    if (E < 1 || E > std::numeric_limits<int32_t>::max())
      throw ArgError(op, "logits", "[T, E] with 1 <= E < 2^31 experts", shape_str(logits.shape));
    require_shape(bias, {E}, op, "bias", "one per expert");
    require_f32(bias, op, "bias");
    require_same_device(bias, logits, op, "bias", "logits");
    Napi::Object o = options_arg(info[2], op);
    MoeRouteOptions r;
    r.n_group = integer_option(o, "nGroup", 1, 1, E, op);
    if (E % r.n_group != 0)
      throw ArgError(op, "options", "nGroup dividing the number of experts " + to_string(E), to_string(r.n_group));
    r.topk_group = integer_option(o, "topkGroup", 1, 1, r.n_group, op);
    const int64_t kept = r.topk_group * (E / r.n_group);
    if (o.Get("topK").IsUndefined())
      throw ArgError(op, "options", "topK to be an integer in [1, " + to_string(kept) + "] (required)", "undefined");
    r.top_k = integer_option(o, "topK", 1, 1, kept, op);
    r.norm_topk = bool_option(o, "normTopk", true, op);
    r.scaling_factor = static_cast<float>(number_option(o, "scalingFactor", 1.0, op));
    const OpTable& t = backend_for(logits, op, "logits", ops_for(logits.device()).moe_route);
    MoeRouteResult res = t.moe_route(logits, bias, r);
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("experts", wrap(env, std::move(res.experts)));
    out.Set("weights", wrap(env, std::move(res.weights)));
    out.Set("scores", wrap(env, std::move(res.scores)));
    return out;
  });
}

Napi::Value bind_moe_route_backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moeRouteBackward";
    const Tensor& dw = tensor_arg(info[0], op, "dweights");
    const Tensor& scores = tensor_arg(info[1], op, "scores");
    require_rank(dw, 2, 2, op, "dweights");
    require_f32(dw, op, "dweights");
    require_rank(scores, 2, 2, op, "scores");
    require_f32(scores, op, "scores");
    require_same_device(scores, dw, op, "scores", "dweights");
    const int64_t T = dw.shape[0], K = dw.shape[1], E = scores.shape[1];
    if (scores.shape[0] != T) throw ArgError(op, "scores", "shape [" + to_string(T) + ", E] (as many rows as dweights)", shape_str(scores.shape));
    const Tensor experts =
        index_arg(info[2], T * K, 0, E - 1, op, "experts", "expert indices in [0, " + to_string(E) + ") (T*topK)");
    Napi::Object o = options_arg(info[3], op);
    const bool norm = bool_option(o, "normTopk", true, op);
    const float sf = static_cast<float>(number_option(o, "scalingFactor", 1.0, op));
    const Tensor* dscores = tensor_option(o, "dscores", op);
    if (dscores) {
      require_f32(*dscores, op, "options.dscores");
      require_same_device(*dscores, scores, op, "options.dscores", "scores");
      require_shape(*dscores, scores.shape, op, "options.dscores", "as scores");
    }
    const OpTable& t = backend_for(dw, op, "dweights", ops_for(dw.device()).moe_route_backward);
    return wrap(info.Env(), t.moe_route_backward(dw, scores, experts, norm, sf, dscores));
  });
}

Napi::Value bind_moe_permute(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moePermute";
    const Tensor& x = tensor_arg(info[0], op, "x");
    require_rank(x, 2, 2, op, "x");
    if (!info[2].IsNumber()) throw ArgError(op, "numExperts", "a positive integer", describe(info[2]));
    const double ed = info[2].As<Napi::Number>().DoubleValue();
    if (!(ed >= 1 && ed <= 2147483647.0) || ed != std::floor(ed))
      throw ArgError(op, "numExperts", "an integer in [1, 2^31)", describe(info[2]));
    const int64_t E = static_cast<int64_t>(ed), T = x.shape[0];
    const int64_t n = int32_length(info[1], op, "experts", "T*topK expert indices");
    if ((T == 0 && n != 0) || (T > 0 && (n == 0 || n % T != 0)))
      throw ArgError(op, "experts", "an Int32Array or i32 tensor of T*topK expert indices (a positive multiple of T = " + to_string(T) + ")",
                     "length " + to_string(n));
    if (n > std::numeric_limits<int32_t>::max()) throw ArgError(op, "experts", "fewer than 2^31 entries", "length " + to_string(n));
    if (x.shape[1] > 0 && n > kMaxElements / x.shape[1])
      throw ArgError(op, "experts", "an output of at most 2^40 elements", "length " + to_string(n));
    const Tensor experts = index_arg(info[1], n, 0, E - 1, op, "experts", "expert indices in [0, " + to_string(E) + ")");
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).moe_permute);
    MoePermuteResult r = t.moe_permute(x, experts, E);
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("xs", wrap(env, std::move(r.xs)));
    out.Set("groupSizes", wrap(env, std::move(r.group_sizes)));
    out.Set("order", wrap(env, std::move(r.order)));
    return out;
  });
}

namespace {

// weights [T,K] f32 and the rows of ys / dxs: T*K.
void check_weights(const Tensor& weights, const Tensor& rows_of, const char* rows_name, const char* op) {
  require_rank(weights, 2, 2, op, "weights");
  require_f32(weights, op, "weights");
  require_same_device(weights, rows_of, op, "weights", rows_name);
  if (weights.shape[0] * weights.shape[1] != rows_of.shape[0])
    throw ArgError(op, "weights", std::string("[T, topK] with T*topK = ") + to_string(rows_of.shape[0]) + " (rows of " + rows_name + ")",
                   shape_str(weights.shape));
}

}  // namespace

Napi::Value bind_moe_unpermute(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moeUnpermute";
    const Tensor& ys = tensor_arg(info[0], op, "ys");
    require_rank(ys, 2, 2, op, "ys");
    const Tensor& weights = tensor_arg(info[2], op, "weights");
    check_weights(weights, ys, "ys", op);
    const Tensor order = order_arg(info[1], ys.shape[0], op, "order");
    const OpTable& t = backend_for(ys, op, "ys", ops_for(ys.device()).moe_unpermute);
    return wrap(info.Env(), t.moe_unpermute(ys, order, weights));
  });
}

Napi::Value bind_moe_unpermute_backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moeUnpermuteBackward";
    const Tensor& dy = tensor_arg(info[0], op, "dy");
    const Tensor& ys = tensor_arg(info[1], op, "ys");
    require_rank(ys, 2, 2, op, "ys");
    const Tensor& weights = tensor_arg(info[3], op, "weights");
    check_weights(weights, ys, "ys", op);
    require_shape(dy, {weights.shape[0], ys.shape[1]}, op, "dy", "[T, D]: T rows of weights, D columns of ys");
    require_same_dtype(dy, ys, op, "dy", "ys");
    require_same_device(dy, ys, op, "dy", "ys");
    const Tensor order = order_arg(info[2], ys.shape[0], op, "order");
    const OpTable& t = backend_for(ys, op, "ys", ops_for(ys.device()).moe_unpermute_backward);
    MoeUnpermuteGrads g = t.moe_unpermute_backward(dy, ys, order, weights);
    Napi::Object r = Napi::Object::New(info.Env());
    r.Set("dys", wrap(info.Env(), std::move(g.dys)));
    r.Set("dweights", wrap(info.Env(), std::move(g.dweights)));
    return r;
  });
}

Napi::Value bind_moe_permute_backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moePermuteBackward";
    const Tensor& dxs = tensor_arg(info[0], op, "dxs");
    require_rank(dxs, 2, 2, op, "dxs");
    const int64_t N = dxs.shape[0];
    if (!info[2].IsNumber()) throw ArgError(op, "topK", "a positive integer", describe(info[2]));
    const double kd = info[2].As<Napi::Number>().DoubleValue();
    if (!(kd >= 1 && kd <= 2147483647.0) || kd != std::floor(kd)) throw ArgError(op, "topK", "a positive integer", describe(info[2]));
    const int64_t K = static_cast<int64_t>(kd);
    if (N % K != 0) throw ArgError(op, "topK", "a divisor of the " + to_string(N) + " rows of dxs", to_string(K));
    const Tensor order = order_arg(info[1], N, op, "order");
    const OpTable& t = backend_for(dxs, op, "dxs", ops_for(dxs.device()).moe_permute_backward);
    return wrap(info.Env(), t.moe_permute_backward(dxs, order, K));
  });
}

Napi::Value bind_moe_seq_aux_loss(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moeSeqAuxLoss";
    const Tensor& scores = tensor_arg(info[0], op, "scores");
    require_rank(scores, 2, 2, op, "scores");
    require_f32(scores, op, "scores");
    const int64_t E = scores.shape[1];
    if (E < 1) throw ArgError(op, "scores", "[B*S, E] with at least one expert", shape_str(scores.shape));
    Napi::Object o = options_arg(info[2], op);
    auto required_int = [&](const char* key, int64_t hi) {
      if (o.Get(key).IsUndefined())
        throw ArgError(op, "options", std::string(key) + " to be an integer in [1, " + to_string(hi) + "] (required)", "undefined");
      return integer_option(o, key, 1, 1, hi, op);
    };
    SeqAuxLossOptions a;
    a.batch = required_int("batch", std::numeric_limits<int32_t>::max());
    a.seq_len = required_int("seqLen", std::numeric_limits<int32_t>::max());
    a.top_k = required_int("topK", E);
    a.alpha = required_number(o, "alpha", op);
    if (a.batch * a.seq_len != scores.shape[0])
      throw ArgError(op, "scores", "shape [" + to_string(a.batch * a.seq_len) + ", E] (batch*seqLen rows)", shape_str(scores.shape));
    const Tensor experts = index_arg(info[1], a.batch * a.seq_len * a.top_k, 0, E - 1, op, "experts",
                                                   "expert indices in [0, " + to_string(E) + ") (batch*seqLen*topK)");
    const OpTable& t = backend_for(scores, op, "scores", ops_for(scores.device()).moe_seq_aux_loss);
    SeqAuxLossResult r = t.moe_seq_aux_loss(scores, experts, a);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("loss", Napi::Number::New(info.Env(), r.loss));
    out.Set("dscores", wrap(info.Env(), std::move(r.dscores)));
    return out;
  });
}

}  // namespace mt::napi
