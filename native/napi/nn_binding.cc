// Bindings of the neural-network ops (native/cpu/nn_ops.h): read and validate every argument,
// then call the op table. Every failure throws mt::ArgError naming the op and the argument.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "../core/error.h"
#include "../ops.h"
#include "args.h"
#include "errors.h"
#include "ops_binding.h"
#include "tensor_object.h"

namespace mt::napi {

namespace {

using std::to_string;

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

void require_f32(const Tensor& t, const char* op, const char* name, const char* why = nullptr) {
  if (t.dtype != DType::F32)
    throw ArgError(op, name, std::string("dtype f32") + (why ? std::string(" (") + why + ")" : ""), dtype_name(t.dtype));
}

void require_shape(const Tensor& t, const Shape& s, const char* op, const char* name, const std::string& why) {
  if (t.shape != s) throw ArgError(op, name, "shape " + shape_str(s) + (why.empty() ? "" : " (" + why + ")"), shape_str(t.shape));
}

// Same shape, dtype and device as ref.
void require_like(const Tensor& t, const Tensor& ref, const char* op, const char* name, const char* ref_name) {
  require_shape(t, ref.shape, op, name, std::string("as ") + ref_name);
  require_same_dtype(t, ref, op, name, ref_name);
  require_same_device(t, ref, op, name, ref_name);
}

// For in-place ops: t must not share memory with other.
void require_distinct(const Tensor& t, const Tensor& other, const char* op, const char* name, const char* other_name) {
  if (t.data() != nullptr && t.data() == other.data())
    throw ArgError(op, name, std::string("a tensor distinct from ") + other_name, std::string("the same memory as ") + other_name);
}

// An Int32Array of `length` entries, each in [lo, hi]. `what` describes the entries, e.g.
// "token ids in [0, 100)".
std::vector<int32_t> int32_arg(const Napi::Value& v, int64_t length, int64_t lo, int64_t hi, const char* op, const char* name,
                               const std::string& what) {
  const std::string expected = "an Int32Array of " + to_string(length) + " " + what;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw ArgError(op, name, expected, describe(v));
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  const int64_t n = static_cast<int64_t>(a.ElementLength());
  if (n != length) throw ArgError(op, name, expected, "length " + to_string(n));
  std::vector<int32_t> out(static_cast<size_t>(n));
  if (n > 0) std::memcpy(out.data(), a.Data(), static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i)
    if (out[i] < lo || out[i] > hi) throw ArgError(op, name, expected, "entry " + to_string(i) + " = " + to_string(out[i]));
  return out;
}

// The length of an Int32Array argument (to derive sizes from it before reading it).
int64_t int32_length(const Napi::Value& v, const char* op, const char* name, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw ArgError(op, name, "an Int32Array of " + what, describe(v));
  return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength());
}

// A permutation of [0, n) (the `order` of moePermute).
std::vector<int32_t> order_arg(const Napi::Value& v, int64_t n, const char* op, const char* name) {
  std::vector<int32_t> order = int32_arg(v, n, 0, n - 1, op, name, "entries, a permutation of [0, " + to_string(n) + ")");
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (seen[order[i]])
      throw ArgError(op, name, "a permutation of [0, " + to_string(n) + ")", "entry " + to_string(i) + " = " + to_string(order[i]) + " repeated");
    seen[order[i]] = 1;
  }
  return order;
}

std::string number_str(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// options[key], a finite number that must be present.
double required_number(const Napi::Object& o, const char* key, const char* op) {
  if (o.Get(key).IsUndefined()) throw ArgError(op, "options", std::string(key) + " to be a finite number (required)", "undefined");
  return number_option(o, key, 0, op);
}

// options[key] as a finite number in a range; lo_open / hi_open exclude the bound.
double ranged_number(const Napi::Object& o, const char* key, double fallback, bool required, double lo, bool lo_open, double hi,
                     bool hi_open, const char* op) {
  const double d = required ? required_number(o, key, op) : number_option(o, key, fallback, op);
  const bool ok = (lo_open ? d > lo : d >= lo) && (hi_open ? d < hi : d <= hi);
  if (!ok) {
    std::string range;
    if (std::isinf(hi)) range = std::string(lo_open ? "> " : ">= ") + number_str(lo);
    else range = "in " + std::string(lo_open ? "(" : "[") + number_str(lo) + ", " + number_str(hi) + (hi_open ? ")" : "]");
    throw ArgError(op, "options", std::string(key) + " " + range, number_str(d));
  }
  return d;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// A plain finite number argument (the factor of scale / scaleInPlace).
double number_arg(const Napi::Value& v, const char* op, const char* name) {
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) throw ArgError(op, name, "a finite number", describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

Napi::Int32Array to_int32_array(Napi::Env env, const std::vector<int32_t>& v) {
  Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * 4);
  return a;
}

Napi::Value wrap(Napi::Env env, Tensor t) { return TensorObject::Wrap(env, std::move(t)); }

// ---------------------------------------------------------------------------------------------
// embedding
// ---------------------------------------------------------------------------------------------

Napi::Value Embedding(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "embedding";
    const Tensor& w = tensor_arg(info[0], op, "weight");
    require_rank(w, 2, 2, op, "weight");
    const int64_t V = w.shape[0];
    const int64_t T = int32_length(info[1], op, "ids", "token ids");
    const std::vector<int32_t> ids = int32_arg(info[1], T, 0, V - 1, op, "ids", "token ids in [0, " + to_string(V) + ")");
    const OpTable& t = backend_for(w, op, "weight", ops_for(w.device()).embedding);
    return wrap(info.Env(), t.embedding(w, ids));
  });
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "embeddingBackward";
    const Tensor& dy = tensor_arg(info[0], op, "dy");
    require_rank(dy, 2, 2, op, "dy");
    const int64_t T = dy.shape[0];
    if (!info[2].IsNumber()) throw ArgError(op, "vocabSize", "a positive integer", describe(info[2]));
    const double vd = info[2].As<Napi::Number>().DoubleValue();
    if (!(vd >= 1 && vd <= 2147483647.0) || vd != std::floor(vd)) throw ArgError(op, "vocabSize", "an integer in [1, 2^31)", describe(info[2]));
    const int64_t V = static_cast<int64_t>(vd);
    if (dy.shape[1] > 0 && V > kMaxElements / dy.shape[1])
      throw ArgError(op, "vocabSize", "an output of at most 2^40 elements", to_string(V) + " rows of " + to_string(dy.shape[1]));
    const std::vector<int32_t> ids =
        int32_arg(info[1], T, 0, V - 1, op, "ids", "token ids in [0, " + to_string(V) + ") (one per row of dy)");
    const OpTable& t = backend_for(dy, op, "dy", ops_for(dy.device()).embedding_backward);
    return wrap(info.Env(), t.embedding_backward(dy, ids, V));
  });
}

// ---------------------------------------------------------------------------------------------
// RMSNorm
// ---------------------------------------------------------------------------------------------

Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "rmsNorm";
    const Tensor& x = tensor_arg(info[0], op, "x");
    const Tensor& w = tensor_arg(info[1], op, "weight");
    require_rank(x, 2, 2, op, "x");
    if (x.shape[1] < 1) throw ArgError(op, "x", "at least one column", shape_str(x.shape));
    require_shape(w, {x.shape[1]}, op, "weight", "D = columns of x");
    require_same_dtype(w, x, op, "weight", "x");
    require_same_device(w, x, op, "weight", "x");
    Napi::Object o = options_arg(info[2], op);
    const double eps = ranged_number(o, "eps", 1e-6, false, 0, false, kInf, false, op);
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).rms_norm);
    cpu::RmsNormResult r = t.rms_norm(x, w, eps);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("y", wrap(info.Env(), std::move(r.y)));
    out.Set("rstd", wrap(info.Env(), std::move(r.rstd)));
    return out;
  });
}

Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "rmsNormBackward";
    const Tensor& dy = tensor_arg(info[0], op, "dy");
    const Tensor& x = tensor_arg(info[1], op, "x");
    const Tensor& w = tensor_arg(info[2], op, "weight");
    const Tensor& rstd = tensor_arg(info[3], op, "rstd");
    require_rank(x, 2, 2, op, "x");
    if (x.shape[1] < 1) throw ArgError(op, "x", "at least one column", shape_str(x.shape));
    require_like(dy, x, op, "dy", "x");
    require_shape(w, {x.shape[1]}, op, "weight", "D = columns of x");
    require_same_dtype(w, x, op, "weight", "x");
    require_same_device(w, x, op, "weight", "x");
    require_shape(rstd, {x.shape[0]}, op, "rstd", "one per row of x");
    require_f32(rstd, op, "rstd");
    require_same_device(rstd, x, op, "rstd", "x");
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).rms_norm_backward);
    cpu::RmsNormGrads g = t.rms_norm_backward(dy, x, w, rstd);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("dx", wrap(info.Env(), std::move(g.dx)));
    out.Set("dweight", wrap(info.Env(), std::move(g.dweight)));
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// RoPE
// ---------------------------------------------------------------------------------------------

Napi::Value Rope(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "rope";
    const Tensor& x = tensor_arg(info[0], op, "x");
    require_rank(x, 3, 3, op, "x");
    const int64_t T = x.shape[0], d = x.shape[2];
    const std::vector<int32_t> pos =
        int32_arg(info[1], T, 0, std::numeric_limits<int32_t>::max(), op, "positions", "non-negative positions (one per row of x)");
    Napi::Object o = options_arg(info[2], op);
    cpu::RopeOptions r;
    r.theta = ranged_number(o, "theta", 10000.0, false, 0, true, kInf, false, op);
    r.interleave = bool_option(o, "interleave", true, op);
    r.inverse = bool_option(o, "inverse", false, op);
    r.rope_dim = integer_option(o, "ropeDim", d, 0, kMaxElements, op);
    if (r.rope_dim == d && d % 2 != 0) throw ArgError(op, "x", "an even last dimension (pairs are rotated)", shape_str(x.shape));
    if (r.rope_dim < 2 || r.rope_dim > d || r.rope_dim % 2 != 0)
      throw ArgError(op, "options", "ropeDim an even number in [2, " + to_string(d) + "] (the last dimension of x; pairs are rotated)",
                     to_string(r.rope_dim));
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).rope);
    return wrap(info.Env(), t.rope(x, pos, r));
  });
}

// ---------------------------------------------------------------------------------------------
// Attention
// ---------------------------------------------------------------------------------------------

cpu::AttentionOptions attention_options(const Napi::Value& v, int64_t dk, const char* op) {
  Napi::Object o = options_arg(v, op);
  cpu::AttentionOptions a;
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

Napi::Value Attention(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "attention";
    const Tensor& q = tensor_arg(info[0], op, "q");
    const Tensor& k = tensor_arg(info[1], op, "k");
    const Tensor& v = tensor_arg(info[2], op, "v");
    check_qkv(q, k, v, op);
    const cpu::AttentionOptions a = attention_options(info[3], q.shape[3], op);
    const OpTable& t = backend_for(q, op, "q", ops_for(q.device()).attention);
    cpu::AttentionResult r = t.attention(q, k, v, a);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("out", wrap(info.Env(), std::move(r.out)));
    out.Set("lse", wrap(info.Env(), std::move(r.lse)));
    if (a.keep_probs) out.Set("probs", wrap(info.Env(), std::move(r.probs)));
    return out;
  });
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
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
    const cpu::AttentionOptions a = attention_options(info[6], q.shape[3], op);
    const Tensor* probs = tensor_option(options_arg(info[6], op), "probs", op);
    if (probs) {
      require_shape(*probs, {q.shape[0], q.shape[2], q.shape[1], q.shape[1]}, op, "options.probs", "[B, H, S, S] of q");
      require_same_dtype(*probs, q, op, "options.probs", "q");
      require_same_device(*probs, q, op, "options.probs", "q");
    }
    const OpTable& t = backend_for(q, op, "q", ops_for(q.device()).attention_backward);
    cpu::AttentionGrads g = t.attention_backward(dout, q, k, v, out, lse, a, probs);
    Napi::Object r = Napi::Object::New(info.Env());
    r.Set("dq", wrap(info.Env(), std::move(g.dq)));
    r.Set("dk", wrap(info.Env(), std::move(g.dk)));
    r.Set("dv", wrap(info.Env(), std::move(g.dv)));
    return r;
  });
}

// ---------------------------------------------------------------------------------------------
// SwiGLU
// ---------------------------------------------------------------------------------------------

Napi::Value Swiglu(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "swiglu";
    const Tensor& gate = tensor_arg(info[0], op, "gate");
    const Tensor& up = tensor_arg(info[1], op, "up");
    require_like(up, gate, op, "up", "gate");
    const OpTable& t = backend_for(gate, op, "gate", ops_for(gate.device()).swiglu);
    return wrap(info.Env(), t.swiglu(gate, up));
  });
}

Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "swigluBackward";
    const Tensor& dy = tensor_arg(info[0], op, "dy");
    const Tensor& gate = tensor_arg(info[1], op, "gate");
    const Tensor& up = tensor_arg(info[2], op, "up");
    require_like(up, gate, op, "up", "gate");
    require_like(dy, gate, op, "dy", "gate");
    const OpTable& t = backend_for(gate, op, "gate", ops_for(gate.device()).swiglu_backward);
    cpu::SwigluGrads g = t.swiglu_backward(dy, gate, up);
    Napi::Object r = Napi::Object::New(info.Env());
    r.Set("dgate", wrap(info.Env(), std::move(g.dgate)));
    r.Set("dup", wrap(info.Env(), std::move(g.dup)));
    return r;
  });
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy
// ---------------------------------------------------------------------------------------------

std::vector<int32_t> targets_arg(const Napi::Value& v, const Tensor& logits, const char* op) {
  const int64_t T = logits.shape[0], V = logits.shape[1];
  return int32_arg(v, T, std::numeric_limits<int32_t>::min(), V - 1, op, "targets",
                   "targets in [0, " + to_string(V) + ") or negative to ignore (one per row of logits)");
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "crossEntropy";
    const Tensor& logits = tensor_arg(info[0], op, "logits");
    require_rank(logits, 2, 2, op, "logits");
    if (logits.shape[1] < 1) throw ArgError(op, "logits", "at least one column (class)", shape_str(logits.shape));
    const std::vector<int32_t> targets = targets_arg(info[1], logits, op);
    Napi::Object o = options_arg(info[2], op);
    const bool grad_in_place = bool_option(o, "gradInPlace", false, op);
    const OpTable& t = backend_for(logits, op, "logits", ops_for(logits.device()).cross_entropy);
    cpu::CrossEntropyResult r = t.cross_entropy(logits, targets, grad_in_place);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("loss", Napi::Number::New(info.Env(), r.loss));
    out.Set("count", Napi::Number::New(info.Env(), static_cast<double>(r.count)));
    out.Set("lse", wrap(info.Env(), std::move(r.lse)));
    if (grad_in_place) out.Set("dlogits", info[0]);
    return out;
  });
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "crossEntropyBackward";
    const Tensor& logits = tensor_arg(info[0], op, "logits");
    require_rank(logits, 2, 2, op, "logits");
    if (logits.shape[1] < 1) throw ArgError(op, "logits", "at least one column (class)", shape_str(logits.shape));
    const std::vector<int32_t> targets = targets_arg(info[1], logits, op);
    const Tensor& lse = tensor_arg(info[2], op, "lse");
    require_shape(lse, {logits.shape[0]}, op, "lse", "one per row of logits");
    require_f32(lse, op, "lse");
    require_same_device(lse, logits, op, "lse", "logits");
    Napi::Object o = options_arg(info[3], op);
    const float scale = static_cast<float>(number_option(o, "scale", 1.0, op));
    const OpTable& t = backend_for(logits, op, "logits", ops_for(logits.device()).cross_entropy_backward);
    return wrap(info.Env(), t.cross_entropy_backward(logits, targets, lse, scale));
  });
}

// ---------------------------------------------------------------------------------------------
// MoE routing
// ---------------------------------------------------------------------------------------------

Napi::Value MoeRoute(const Napi::CallbackInfo& info) {
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
    cpu::MoeRouteOptions r;
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
    cpu::MoeRouteResult res = t.moe_route(logits, bias, r);
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("experts", to_int32_array(env, res.experts));
    out.Set("weights", wrap(env, std::move(res.weights)));
    out.Set("scores", wrap(env, std::move(res.scores)));
    return out;
  });
}

Napi::Value MoeRouteBackward(const Napi::CallbackInfo& info) {
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
    const std::vector<int32_t> experts =
        int32_arg(info[2], T * K, 0, E - 1, op, "experts", "expert indices in [0, " + to_string(E) + ") (T*topK)");
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

Napi::Value MoePermute(const Napi::CallbackInfo& info) {
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
      throw ArgError(op, "experts", "an Int32Array of T*topK expert indices (a positive multiple of T = " + to_string(T) + ")",
                     "length " + to_string(n));
    if (n > std::numeric_limits<int32_t>::max()) throw ArgError(op, "experts", "fewer than 2^31 entries", "length " + to_string(n));
    if (x.shape[1] > 0 && n > kMaxElements / x.shape[1])
      throw ArgError(op, "experts", "an output of at most 2^40 elements", "length " + to_string(n));
    const std::vector<int32_t> experts = int32_arg(info[1], n, 0, E - 1, op, "experts", "expert indices in [0, " + to_string(E) + ")");
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).moe_permute);
    cpu::MoePermuteResult r = t.moe_permute(x, experts, E);
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("xs", wrap(env, std::move(r.xs)));
    out.Set("groupSizes", to_int32_array(env, r.group_sizes));
    out.Set("order", to_int32_array(env, r.order));
    return out;
  });
}

// weights [T,K] f32 and the rows of ys / dxs: T*K.
void check_weights(const Tensor& weights, const Tensor& rows_of, const char* rows_name, const char* op) {
  require_rank(weights, 2, 2, op, "weights");
  require_f32(weights, op, "weights");
  require_same_device(weights, rows_of, op, "weights", rows_name);
  if (weights.shape[0] * weights.shape[1] != rows_of.shape[0])
    throw ArgError(op, "weights", std::string("[T, topK] with T*topK = ") + to_string(rows_of.shape[0]) + " (rows of " + rows_name + ")",
                   shape_str(weights.shape));
}

Napi::Value MoeUnpermute(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "moeUnpermute";
    const Tensor& ys = tensor_arg(info[0], op, "ys");
    require_rank(ys, 2, 2, op, "ys");
    const Tensor& weights = tensor_arg(info[2], op, "weights");
    check_weights(weights, ys, "ys", op);
    const std::vector<int32_t> order = order_arg(info[1], ys.shape[0], op, "order");
    const OpTable& t = backend_for(ys, op, "ys", ops_for(ys.device()).moe_unpermute);
    return wrap(info.Env(), t.moe_unpermute(ys, order, weights));
  });
}

Napi::Value MoeUnpermuteBackward(const Napi::CallbackInfo& info) {
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
    const std::vector<int32_t> order = order_arg(info[2], ys.shape[0], op, "order");
    const OpTable& t = backend_for(ys, op, "ys", ops_for(ys.device()).moe_unpermute_backward);
    cpu::MoeUnpermuteGrads g = t.moe_unpermute_backward(dy, ys, order, weights);
    Napi::Object r = Napi::Object::New(info.Env());
    r.Set("dys", wrap(info.Env(), std::move(g.dys)));
    r.Set("dweights", wrap(info.Env(), std::move(g.dweights)));
    return r;
  });
}

Napi::Value MoePermuteBackward(const Napi::CallbackInfo& info) {
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
    const std::vector<int32_t> order = order_arg(info[1], N, op, "order");
    const OpTable& t = backend_for(dxs, op, "dxs", ops_for(dxs.device()).moe_permute_backward);
    return wrap(info.Env(), t.moe_permute_backward(dxs, order, K));
  });
}

Napi::Value MoeSeqAuxLoss(const Napi::CallbackInfo& info) {
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
    cpu::SeqAuxLossOptions a;
    a.batch = required_int("batch", std::numeric_limits<int32_t>::max());
    a.seq_len = required_int("seqLen", std::numeric_limits<int32_t>::max());
    a.top_k = required_int("topK", E);
    a.alpha = required_number(o, "alpha", op);
    if (a.batch * a.seq_len != scores.shape[0])
      throw ArgError(op, "scores", "shape [" + to_string(a.batch * a.seq_len) + ", E] (batch*seqLen rows)", shape_str(scores.shape));
    const std::vector<int32_t> experts = int32_arg(info[1], a.batch * a.seq_len * a.top_k, 0, E - 1, op, "experts",
                                                   "expert indices in [0, " + to_string(E) + ") (batch*seqLen*topK)");
    const OpTable& t = backend_for(scores, op, "scores", ops_for(scores.device()).moe_seq_aux_loss);
    cpu::SeqAuxLossResult r = t.moe_seq_aux_loss(scores, experts, a);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("loss", Napi::Number::New(info.Env(), r.loss));
    out.Set("dscores", wrap(info.Env(), std::move(r.dscores)));
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// Elementwise, conversions, split / concat
// ---------------------------------------------------------------------------------------------

Napi::Value Add(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "add";
    const Tensor& a = tensor_arg(info[0], op, "a");
    const Tensor& b = tensor_arg(info[1], op, "b");
    require_like(b, a, op, "b", "a");
    Napi::Object o = options_arg(info[2], op);
    const float alpha = static_cast<float>(number_option(o, "alpha", 1.0, op));
    const OpTable& t = backend_for(a, op, "a", ops_for(a.device()).add);
    return wrap(info.Env(), t.add(a, b, alpha));
  });
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "scale";
    const Tensor& a = tensor_arg(info[0], op, "a");
    const float s = static_cast<float>(number_arg(info[1], op, "s"));
    const OpTable& t = backend_for(a, op, "a", ops_for(a.device()).scale);
    return wrap(info.Env(), t.scale(a, s));
  });
}

Napi::Value ScaleInPlace(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "scaleInPlace";
    const Tensor& a = tensor_arg(info[0], op, "t");
    const float s = static_cast<float>(number_arg(info[1], op, "s"));
    const OpTable& t = backend_for(a, op, "t", ops_for(a.device()).scale_in_place);
    t.scale_in_place(a, s);
    return info.Env().Undefined();
  });
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "sumSquares";
    const Tensor& a = tensor_arg(info[0], op, "t");
    const OpTable& t = backend_for(a, op, "t", ops_for(a.device()).sum_squares);
    return Napi::Number::New(info.Env(), t.sum_squares(a));
  });
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "copy";
    const Tensor& src = tensor_arg(info[0], op, "src");
    Napi::Object o = options_arg(info[1], op);
    DType dtype = src.dtype;
    Napi::Value dv = o.Get("dtype");
    if (!dv.IsUndefined()) {
      const std::string s = dv.IsString() ? dv.As<Napi::String>().Utf8Value() : "";
      if (s == "f32") dtype = DType::F32;
      else if (s == "bf16") dtype = DType::BF16;
      else throw ArgError(op, "options", "dtype 'f32' or 'bf16'", describe(dv));
    }
    const OpTable& t = backend_for(src, op, "src", ops_for(src.device()).copy);
    return wrap(info.Env(), t.copy(src, dtype));
  });
}

Napi::Value Assign(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "assign";
    const Tensor& dst = tensor_arg(info[0], op, "dst");
    const Tensor& src = tensor_arg(info[1], op, "src");
    require_shape(src, dst.shape, op, "src", "as dst");
    require_same_device(src, dst, op, "src", "dst");
    const OpTable& t = backend_for(dst, op, "dst", ops_for(dst.device()).assign);
    t.assign(dst, src);
    return info.Env().Undefined();
  });
}

Napi::Value Split(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "split";
    const Tensor& x = tensor_arg(info[0], op, "x");
    const int64_t n = x.shape.back();
    int64_t parts = 0;
    if (info[1].IsArray()) parts = info[1].As<Napi::Array>().Length();
    else if (info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array)
      parts = static_cast<int64_t>(info[1].As<Napi::TypedArray>().ElementLength());
    else throw ArgError(op, "sizes", "a number[] of sizes summing to the last dimension " + to_string(n), describe(info[1]));
    if (parts < 1) throw ArgError(op, "sizes", "at least one size", "an empty list");
    const std::vector<int64_t> sizes = group_sizes_arg(info[1], parts, n, op, "sizes");
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).split);
    std::vector<Tensor> pieces = t.split(x, sizes);
    Napi::Array out = Napi::Array::New(info.Env(), pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) out.Set(static_cast<uint32_t>(i), wrap(info.Env(), std::move(pieces[i])));
    return out;
  });
}

Napi::Value Concat(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "concat";
    if (!info[0].IsArray()) throw ArgError(op, "tensors", "an array of tensors", describe(info[0]));
    Napi::Array list = info[0].As<Napi::Array>();
    if (list.Length() < 1) throw ArgError(op, "tensors", "at least one tensor", "an empty array");
    std::vector<Tensor> parts;
    int64_t total = 0;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value e = list.Get(i);
      TensorObject* obj = TensorObject::FromValue(e);
      const std::string where = "entry " + to_string(i) + " ";
      if (!obj) throw ArgError(op, "tensors", "an array of tensors", where + describe(e));
      if (obj->disposed()) throw ArgError(op, "tensors", "live tensors (not disposed)", where + "a disposed tensor");
      const Tensor& p = obj->tensor();
      if (!parts.empty()) {
        const Tensor& first = parts[0];
        Shape lead(p.shape.begin(), p.shape.end() - 1), lead0(first.shape.begin(), first.shape.end() - 1);
        if (p.rank() != first.rank() || lead != lead0)
          throw ArgError(op, "tensors", "the leading shape of entry 0 (" + shape_str(first.shape) + " but for the last dimension)",
                         where + "of shape " + shape_str(p.shape));
        if (p.dtype != first.dtype)
          throw ArgError(op, "tensors", std::string("dtype ") + dtype_name(first.dtype) + " (as entry 0)", where + "of dtype " + dtype_name(p.dtype));
        if (p.device() != first.device()) throw ArgError(op, "tensors", "tensors on one device", where + "on another device");
      }
      total += p.shape.back();
      parts.push_back(p);
    }
    int64_t lead = 1;
    for (int r = 0; r + 1 < parts[0].rank(); ++r) lead *= parts[0].shape[r];
    if (lead > 0 && total > kMaxElements / lead) throw ArgError(op, "tensors", "an output of at most 2^40 elements", to_string(lead) + " rows of " + to_string(total));
    const OpTable& t = backend_for(parts[0], op, "tensors", ops_for(parts[0].device()).concat);
    return wrap(info.Env(), t.concat(parts));
  });
}

// ---------------------------------------------------------------------------------------------
// Optimizer updates (in place)
// ---------------------------------------------------------------------------------------------

// grad-like argument: f32 or bf16 of param's shape.
void check_grad_like(const Tensor& g, const Tensor& param, const char* op, const char* name, const char* param_name) {
  require_shape(g, param.shape, op, name, std::string("as ") + param_name);
  require_same_device(g, param, op, name, param_name);
}

Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "adamwStep";
    const Tensor& p = tensor_arg(info[0], op, "param");
    const Tensor& g = tensor_arg(info[1], op, "grad");
    const Tensor& m = tensor_arg(info[2], op, "m");
    const Tensor& v = tensor_arg(info[3], op, "v");
    require_f32(p, op, "param", "the fp32 master copy");
    check_grad_like(g, p, op, "grad", "param");
    require_like(m, p, op, "m", "param");
    require_like(v, p, op, "v", "param");
    require_distinct(g, p, op, "grad", "param");
    require_distinct(m, p, op, "m", "param");
    require_distinct(m, g, op, "m", "grad");
    require_distinct(v, p, op, "v", "param");
    require_distinct(v, g, op, "v", "grad");
    require_distinct(v, m, op, "v", "m");
    Napi::Object o = options_arg(info[4], op);
    cpu::AdamWOptions a;
    a.lr = ranged_number(o, "lr", 0, true, 0, false, kInf, false, op);
    a.beta1 = ranged_number(o, "beta1", 0.9, false, 0, false, 1, true, op);
    a.beta2 = ranged_number(o, "beta2", 0.999, false, 0, false, 1, true, op);
    a.eps = ranged_number(o, "eps", 1e-8, false, 0, true, kInf, false, op);
    a.weight_decay = ranged_number(o, "weightDecay", 1e-2, false, 0, false, kInf, false, op);
    if (o.Get("step").IsUndefined())
      throw ArgError(op, "options", "step to be an integer in [1, 9007199254740991] (required)", "undefined");
    a.step = integer_option(o, "step", 1, 1, 9007199254740991LL, op);
    const OpTable& t = backend_for(p, op, "param", ops_for(p.device()).adamw_step);
    t.adamw_step(p, g, m, v, a);
    return info.Env().Undefined();
  });
}

Napi::Value MuonMomentum(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "muonMomentum";
    const Tensor& m = tensor_arg(info[0], op, "m");
    const Tensor& g = tensor_arg(info[1], op, "grad");
    require_f32(m, op, "m", "the fp32 momentum buffer");
    check_grad_like(g, m, op, "grad", "m");
    require_distinct(g, m, op, "grad", "m");
    Napi::Object o = options_arg(info[2], op);
    cpu::MuonMomentumOptions a;
    a.momentum = ranged_number(o, "momentum", 0.95, false, 0, false, 1, true, op);
    a.nesterov = bool_option(o, "nesterov", true, op);
    const OpTable& t = backend_for(m, op, "m", ops_for(m.device()).muon_momentum);
    return wrap(info.Env(), t.muon_momentum(m, g, a));
  });
}

Napi::Value MuonApply(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "muonApply";
    const Tensor& p = tensor_arg(info[0], op, "param");
    const Tensor& u = tensor_arg(info[1], op, "update");
    require_f32(p, op, "param", "the fp32 master copy");
    check_grad_like(u, p, op, "update", "param");
    require_distinct(u, p, op, "update", "param");
    Napi::Object o = options_arg(info[2], op);
    cpu::MuonApplyOptions a;
    a.lr = ranged_number(o, "lr", 0, true, 0, false, kInf, false, op);
    a.weight_decay = ranged_number(o, "weightDecay", 0, false, 0, false, kInf, false, op);
    a.scale = number_option(o, "scale", 1.0, op);
    const OpTable& t = backend_for(p, op, "param", ops_for(p.device()).muon_apply);
    t.muon_apply(p, u, a);
    return info.Env().Undefined();
  });
}

}  // namespace

void RegisterNnOps(Napi::Env env, Napi::Object exports) {
  exports.Set("embedding", Napi::Function::New<Embedding>(env, "embedding"));
  exports.Set("embeddingBackward", Napi::Function::New<EmbeddingBackward>(env, "embeddingBackward"));
  exports.Set("rmsNorm", Napi::Function::New<RmsNorm>(env, "rmsNorm"));
  exports.Set("rmsNormBackward", Napi::Function::New<RmsNormBackward>(env, "rmsNormBackward"));
  exports.Set("rope", Napi::Function::New<Rope>(env, "rope"));
  exports.Set("attention", Napi::Function::New<Attention>(env, "attention"));
  exports.Set("attentionBackward", Napi::Function::New<AttentionBackward>(env, "attentionBackward"));
  exports.Set("swiglu", Napi::Function::New<Swiglu>(env, "swiglu"));
  exports.Set("swigluBackward", Napi::Function::New<SwigluBackward>(env, "swigluBackward"));
  exports.Set("crossEntropy", Napi::Function::New<CrossEntropy>(env, "crossEntropy"));
  exports.Set("crossEntropyBackward", Napi::Function::New<CrossEntropyBackward>(env, "crossEntropyBackward"));
  exports.Set("moeRoute", Napi::Function::New<MoeRoute>(env, "moeRoute"));
  exports.Set("moeRouteBackward", Napi::Function::New<MoeRouteBackward>(env, "moeRouteBackward"));
  exports.Set("moePermute", Napi::Function::New<MoePermute>(env, "moePermute"));
  exports.Set("moeUnpermute", Napi::Function::New<MoeUnpermute>(env, "moeUnpermute"));
  exports.Set("moeUnpermuteBackward", Napi::Function::New<MoeUnpermuteBackward>(env, "moeUnpermuteBackward"));
  exports.Set("moePermuteBackward", Napi::Function::New<MoePermuteBackward>(env, "moePermuteBackward"));
  exports.Set("moeSeqAuxLoss", Napi::Function::New<MoeSeqAuxLoss>(env, "moeSeqAuxLoss"));
  exports.Set("add", Napi::Function::New<Add>(env, "add"));
  exports.Set("scale", Napi::Function::New<Scale>(env, "scale"));
  exports.Set("scaleInPlace", Napi::Function::New<ScaleInPlace>(env, "scaleInPlace"));
  exports.Set("sumSquares", Napi::Function::New<SumSquares>(env, "sumSquares"));
  exports.Set("copy", Napi::Function::New<Copy>(env, "copy"));
  exports.Set("assign", Napi::Function::New<Assign>(env, "assign"));
  exports.Set("split", Napi::Function::New<Split>(env, "split"));
  exports.Set("concat", Napi::Function::New<Concat>(env, "concat"));
  exports.Set("adamwStep", Napi::Function::New<AdamwStep>(env, "adamwStep"));
  exports.Set("muonMomentum", Napi::Function::New<MuonMomentum>(env, "muonMomentum"));
  exports.Set("muonApply", Napi::Function::New<MuonApply>(env, "muonApply"));
}

}  // namespace mt::napi
