// Bindings of SwiGLU and its backward: read and validate every argument, then call the op table.
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

Napi::Value bind_swiglu(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "swiglu";
    const Tensor& gate = tensor_arg(info[0], op, "gate");
    const Tensor& up = tensor_arg(info[1], op, "up");
    require_like(up, gate, op, "up", "gate");
    const OpTable& t = backend_for(gate, op, "gate", ops_for(gate.device()).swiglu);
    return wrap(info.Env(), t.swiglu(gate, up));
  });
}

Napi::Value bind_swiglu_backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "swigluBackward";
    const Tensor& dy = tensor_arg(info[0], op, "dy");
    const Tensor& gate = tensor_arg(info[1], op, "gate");
    const Tensor& up = tensor_arg(info[2], op, "up");
    require_like(up, gate, op, "up", "gate");
    require_like(dy, gate, op, "dy", "gate");
    const OpTable& t = backend_for(gate, op, "gate", ops_for(gate.device()).swiglu_backward);
    SwigluGrads g = t.swiglu_backward(dy, gate, up);
    Napi::Object r = Napi::Object::New(info.Env());
    r.Set("dgate", wrap(info.Env(), std::move(g.dgate)));
    r.Set("dup", wrap(info.Env(), std::move(g.dup)));
    return r;
  });
}

}  // namespace mt::napi
