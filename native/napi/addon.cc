// Module entry: runs once per environment (main thread and each worker_thread).
#include <napi.h>

#include "../core/isa.h"
#include "register.h"
#include "tensor_object.h"

namespace mt::napi {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const std::string floor = cpu_floor_problem();
  if (!floor.empty()) {
    Napi::Error e = Napi::Error::New(env, floor);
    e.Set("code", Napi::String::New(env, "ERR_MOONTRAIN_UNSUPPORTED_CPU"));
    throw e;
  }
  env.SetInstanceData(new AddonData());
  RegisterTensor(env, exports);
  RegisterOps(env, exports);
  RegisterRuntime(env, exports);
  RegisterComm(env, exports);
  return exports;
}

}  // namespace mt::napi

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return mt::napi::Init(env, exports); }

NODE_API_MODULE(moontrain, InitModule)
