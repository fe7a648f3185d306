// Bindings of RMSNorm and its backward: read and validate every argument, then call the op table.
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

Napi::Value bind_rms_norm(const Napi::CallbackInfo& info) {
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
    RmsNormResult r = t.rms_norm(x, w, eps);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("y", wrap(info.Env(), std::move(r.y)));
    out.Set("rstd", wrap(info.Env(), std::move(r.rstd)));
    return out;
  });
}

Napi::Value bind_rms_norm_backward(const Napi::CallbackInfo& info) {
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
    RmsNormGrads g = t.rms_norm_backward(dy, x, w, rstd);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("dx", wrap(info.Env(), std::move(g.dx)));
    out.Set("dweight", wrap(info.Env(), std::move(g.dweight)));
    return out;
  });
}

}  // namespace mt::napi
