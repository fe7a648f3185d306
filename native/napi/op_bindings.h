// One validating binding per op of the op list with binding `custom`, bind_<name>, defined in
// native/napi/ops/<family>.cc. An op in the list without its binding fails to link.
#pragma once
#include <napi.h>

#include "../op_list.h"

namespace mt::napi {

#define MT_BINDING_custom(name) Napi::Value bind_##name(const Napi::CallbackInfo& info);
#define MT_BINDING_unary(name)
#define MT_DECLARE_BINDING(name, js, binding, Result, params, cpu, cuda) MT_BINDING_##binding(name)
MT_OP_LIST(MT_DECLARE_BINDING)
#undef MT_DECLARE_BINDING
#undef MT_BINDING_unary
#undef MT_BINDING_custom

}  // namespace mt::napi
