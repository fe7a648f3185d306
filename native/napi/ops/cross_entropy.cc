// Bindings of cross-entropy and its backward: read and validate every argument, then call the op table.
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

std::vector<int32_t> targets_arg(const Napi::Value& v, const Tensor& logits, const char* op) {
  const int64_t T = logits.shape[0], V = logits.shape[1];
  return int32_arg(v, T, std::numeric_limits<int32_t>::min(), V - 1, op, "targets",
                   "targets in [0, " + to_string(V) + ") or negative to ignore (one per row of logits)");
}

}  // namespace

Napi::Value bind_cross_entropy(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "crossEntropy";
    const Tensor& logits = tensor_arg(info[0], op, "logits");
    require_rank(logits, 2, 2, op, "logits");
    if (logits.shape[1] < 1) throw ArgError(op, "logits", "at least one column (class)", shape_str(logits.shape));
    const std::vector<int32_t> targets = targets_arg(info[1], logits, op);
    Napi::Object o = options_arg(info[2], op);
    const bool grad_in_place = bool_option(o, "gradInPlace", false, op);
    const OpTable& t = backend_for(logits, op, "logits", ops_for(logits.device()).cross_entropy);
    CrossEntropyResult r = t.cross_entropy(logits, targets, grad_in_place);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("loss", Napi::Number::New(info.Env(), r.loss));
    out.Set("count", Napi::Number::New(info.Env(), static_cast<double>(r.count)));
    out.Set("lse", wrap(info.Env(), std::move(r.lse)));
    if (grad_in_place) out.Set("dlogits", info[0]);
    return out;
  });
}

Napi::Value bind_cross_entropy_backward(const Napi::CallbackInfo& info) {
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

}  // namespace mt::napi
