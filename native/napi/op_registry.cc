// Registers every op of the op list under its JS name, and opList(): each op with the backends
// whose table implements it (ops.supports and info().ops in JS).
#include "../core/error.h"
#include "../op_table.h"
#include "args.h"
#include "errors.h"
#include "op_bindings.h"
#include "register.h"
#include "tensor_object.h"

namespace mt::napi {

namespace {

// The binding of every `unary` op: one live tensor in, a tensor of the same device out.
template <Tensor (*OpTable::*Entry)(const Tensor&)>
Napi::Value unary_binding(const Napi::CallbackInfo& info, const char* op) {
  return guarded(info, [&]() -> Napi::Value {
    const Tensor& x = tensor_arg(info[0], op, "x");
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).*Entry != nullptr);
    return TensorObject::Wrap(info.Env(), (t.*Entry)(x));
  });
}

Napi::Value OpList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  const OpTable* tables[] = {&cpu_ops(), &cuda_ops()};
#define MT_LIST_ENTRY(name, js, binding, Result, params, cpu, cuda) \
  {                                                                 \
    Napi::Object o = Napi::Object::New(env);                        \
    o.Set("name", js);                                              \
    Napi::Array backends = Napi::Array::New(env);                   \
    for (const OpTable* t : tables)                                 \
      if (t->name) backends.Set(backends.Length(), t->backend);     \
    o.Set("backends", backends);                                    \
    list.Set(list.Length(), o);                                     \
  }
  MT_OP_LIST(MT_LIST_ENTRY)
#undef MT_LIST_ENTRY
  return list;
}

}  // namespace

void RegisterOps(Napi::Env env, Napi::Object exports) {
#define MT_REGISTER_custom(name, js) exports.Set(js, Napi::Function::New<bind_##name>(env, js));
#define MT_REGISTER_unary(name, js) \
  exports.Set(js, Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return unary_binding<&OpTable::name>(info, js); }, js));
#define MT_REGISTER(name, js, binding, Result, params, cpu, cuda) MT_REGISTER_##binding(name, js)
  MT_OP_LIST(MT_REGISTER)
#undef MT_REGISTER
#undef MT_REGISTER_unary
#undef MT_REGISTER_custom
  exports.Set("opList", Napi::Function::New<OpList>(env, "opList"));
}

}  // namespace mt::napi
