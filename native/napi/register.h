#pragma once
#include <napi.h>

namespace mt::napi {

// Every op of the op list, plus opList() (op_registry.cc).
void RegisterOps(Napi::Env env, Napi::Object exports);
void RegisterTensor(Napi::Env env, Napi::Object exports);
void RegisterRuntime(Napi::Env env, Napi::Object exports);
// The shared-memory communicator (comm_binding.cc).
void RegisterComm(Napi::Env env, Napi::Object exports);

}  // namespace mt::napi
