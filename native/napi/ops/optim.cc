// Bindings of optimizer updates (in place): read and validate every argument, then call the op table.
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

namespace {

// grad-like argument: f32 or bf16 of param's shape.
void check_grad_like(const Tensor& g, const Tensor& param, const char* op, const char* name, const char* param_name) {
  require_shape(g, param.shape, op, name, std::string("as ") + param_name);
  require_same_device(g, param, op, name, param_name);
}

}  // namespace

Napi::Value bind_adamw_step(const Napi::CallbackInfo& info) {
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
    AdamWOptions a;
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

Napi::Value bind_muon_momentum(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "muonMomentum";
    const Tensor& m = tensor_arg(info[0], op, "m");
    const Tensor& g = tensor_arg(info[1], op, "grad");
    require_f32(m, op, "m", "the fp32 momentum buffer");
    check_grad_like(g, m, op, "grad", "m");
    require_distinct(g, m, op, "grad", "m");
    Napi::Object o = options_arg(info[2], op);
    MuonMomentumOptions a;
    a.momentum = ranged_number(o, "momentum", 0.95, false, 0, false, 1, true, op);
    a.nesterov = bool_option(o, "nesterov", true, op);
    const OpTable& t = backend_for(m, op, "m", ops_for(m.device()).muon_momentum);
    return wrap(info.Env(), t.muon_momentum(m, g, a));
  });
}

Napi::Value bind_muon_apply(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "muonApply";
    const Tensor& p = tensor_arg(info[0], op, "param");
    const Tensor& u = tensor_arg(info[1], op, "update");
    require_f32(p, op, "param", "the fp32 master copy");
    check_grad_like(u, p, op, "update", "param");
    require_distinct(u, p, op, "update", "param");
    Napi::Object o = options_arg(info[2], op);
    MuonApplyOptions a;
    a.lr = ranged_number(o, "lr", 0, true, 0, false, kInf, false, op);
    a.weight_decay = ranged_number(o, "weightDecay", 0, false, 0, false, kInf, false, op);
    a.scale = number_option(o, "scale", 1.0, op);
    const OpTable& t = backend_for(p, op, "param", ops_for(p.device()).muon_apply);
    t.muon_apply(p, u, a);
    return info.Env().Undefined();
  });
}

}  // namespace mt::napi
