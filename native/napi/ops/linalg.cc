// Bindings of the matrix products and Newton–Schulz: read and validate every argument, then call the op table.
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

std::string dims(int64_t a, int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

}  // namespace

Napi::Value bind_matmul(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "matmul";
    const Tensor& a = tensor_arg(info[0], op, "a");
    const Tensor& b = tensor_arg(info[1], op, "b");
    Napi::Object o = options_arg(info[2], op);
    const bool ta = bool_option(o, "transA", false, op), tb = bool_option(o, "transB", false, op);
    require_rank(a, 2, 2, op, "a");
    require_rank(b, 2, 2, op, "b");
    require_same_dtype(b, a, op, "b", "a");
    require_same_device(b, a, op, "b", "a");
    const int64_t k = ta ? a.shape[0] : a.shape[1];
    const int64_t kb = tb ? b.shape[1] : b.shape[0];
    if (k != kb)
      throw ArgError(op, "b", std::string(tb ? "shape [*, " : "shape [") + std::to_string(k) + (tb ? "]" : ", *]") +
                                  " (inner dimension " + std::to_string(k) + " of op(a))",
                     shape_str(b.shape));
    const Tensor* add = tensor_option(o, "add", op);
    if (add) {
      require_shape(*add, {ta ? a.shape[1] : a.shape[0], tb ? b.shape[0] : b.shape[1]}, op, "options.add");
      require_same_dtype(*add, a, op, "options.add", "a");
      require_same_device(*add, a, op, "options.add", "a");
    }
    const OpTable& t = backend_for(a, op, "a", ops_for(a.device()).matmul);
    return TensorObject::Wrap(info.Env(), t.matmul(a, b, ta, tb, add));
  });
}

Napi::Value bind_grouped_matmul(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "groupedMatmul";
    const Tensor& x = tensor_arg(info[0], op, "x");
    const Tensor& w = tensor_arg(info[1], op, "w");
    require_rank(x, 2, 2, op, "x");
    require_rank(w, 3, 3, op, "w");
    require_same_dtype(w, x, op, "w", "x");
    require_same_device(w, x, op, "w", "x");
    Napi::Object o = options_arg(info[3], op);
    const bool tb = bool_option(o, "transB", false, op);
    const int64_t K = x.shape[1];
    const int64_t wk = tb ? w.shape[2] : w.shape[1];
    if (wk != K)
      throw ArgError(op, "w", (tb ? "shape [E, N, " : "shape [E, ") + std::to_string(K) + (tb ? "]" : ", N]") +
                                  " (K = columns of x)", shape_str(w.shape));
    const Tensor groups = group_sizes_arg(info[2], w.shape[0], x.shape[0], op, "groupSizes");
    const Tensor* add = tensor_option(o, "add", op);
    if (add) {
      require_shape(*add, {x.shape[0], tb ? w.shape[1] : w.shape[2]}, op, "options.add");
      require_same_dtype(*add, x, op, "options.add", "x");
      require_same_device(*add, x, op, "options.add", "x");
    }
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).grouped_matmul);
    return TensorObject::Wrap(info.Env(), t.grouped_matmul(x, w, groups, tb, add));
  });
}

Napi::Value bind_grouped_weight_grad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "groupedWeightGrad";
    const Tensor& x = tensor_arg(info[0], op, "x");
    const Tensor& dy = tensor_arg(info[1], op, "dy");
    require_rank(x, 2, 2, op, "x");
    require_rank(dy, 2, 2, op, "dy");
    require_same_dtype(dy, x, op, "dy", "x");
    require_same_device(dy, x, op, "dy", "x");
    if (dy.shape[0] != x.shape[0])
      throw ArgError(op, "dy", "shape [" + std::to_string(x.shape[0]) + ", N] (as many rows as x)", shape_str(dy.shape));
    const Tensor* given = index_tensor_arg(info[2], op, "groupSizes");
    if (!given && !info[2].IsArray() && !info[2].IsTypedArray())
      throw ArgError(op, "groupSizes", "a number[], Int32Array or i32 tensor of group sizes", describe(info[2]));
    const int64_t groups = given ? given->numel() : info[2].IsArray() ? info[2].As<Napi::Array>().Length()
                                             : static_cast<int64_t>(info[2].As<Napi::TypedArray>().ElementLength());
    if (groups < 1) throw ArgError(op, "groupSizes", "at least one group", "an empty list");
    const Tensor sizes = group_sizes_arg(info[2], groups, x.shape[0], op, "groupSizes");
    const int64_t out_elems_limit = kMaxElements / std::max<int64_t>(1, x.shape[1] * dy.shape[1]);
    if (groups > out_elems_limit) throw ArgError(op, "groupSizes", "an output of at most 2^40 elements", std::to_string(groups) + " groups of " + dims(x.shape[1], dy.shape[1]));
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).grouped_weight_grad);
    return TensorObject::Wrap(info.Env(), t.grouped_weight_grad(x, dy, sizes));
  });
}

namespace {

// The per-step (a, b, c) schedule from options.steps / options.coefficients (docs/model-and-optimizers.md, "Newton–Schulz (NS5)").
NewtonSchulzOptions ns_options(const Napi::Value& v) {
  const char* op = "newtonSchulz";
  Napi::Object o = options_arg(v, op);
  constexpr int64_t kMaxSteps = 100;
  NewtonSchulzOptions r;
  r.eps = static_cast<float>(number_option(o, "eps", 1e-7, op));
  if (r.eps < 0) throw ArgError(op, "options", "eps >= 0", std::to_string(r.eps));
  auto triple = [&](const Napi::Value& t, const std::string& where) {
    const std::string expected = "coefficients as [a, b, c] or a list of [a, b, c] per step";
    if (!t.IsArray() || t.As<Napi::Array>().Length() != 3) throw ArgError(op, "options", expected, where + describe(t));
    std::array<float, 3> c{};
    for (uint32_t i = 0; i < 3; ++i) {
      Napi::Value e = t.As<Napi::Array>().Get(i);
      if (!e.IsNumber() || !std::isfinite(e.As<Napi::Number>().DoubleValue()))
        throw ArgError(op, "options", "finite coefficients", where + describe(e));
      c[i] = static_cast<float>(e.As<Napi::Number>().DoubleValue());
    }
    return c;
  };
  Napi::Value coeffs = o.Get("coefficients");
  const bool per_step = coeffs.IsArray() && coeffs.As<Napi::Array>().Length() > 0 && coeffs.As<Napi::Array>().Get(0u).IsArray();
  const int64_t default_steps = per_step ? coeffs.As<Napi::Array>().Length() : 5;
  const int64_t steps = integer_option(o, "steps", default_steps, 0, kMaxSteps, op);
  if (coeffs.IsUndefined()) {
    r.coefficients.assign(steps, {3.4445f, -4.7750f, 2.0315f});
  } else if (per_step) {
    Napi::Array list = coeffs.As<Napi::Array>();
    if (static_cast<int64_t>(list.Length()) != steps)
      throw ArgError(op, "options", "one coefficient triple per step (" + std::to_string(steps) + ")",
                     std::to_string(list.Length()) + " triples");
    for (uint32_t i = 0; i < list.Length(); ++i) r.coefficients.push_back(triple(list.Get(i), "entry " + std::to_string(i) + " "));
  } else {
    r.coefficients.assign(steps, triple(coeffs, ""));
  }
  return r;
}

}  // namespace

Napi::Value bind_newton_schulz(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "newtonSchulz";
    const Tensor& x = tensor_arg(info[0], op, "x");
    require_rank(x, 2, 3, op, "x");
    const NewtonSchulzOptions options = ns_options(info[1]);
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).newton_schulz);
    return TensorObject::Wrap(info.Env(), t.newton_schulz(x, options));
  });
}

}  // namespace mt::napi
