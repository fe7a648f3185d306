#pragma once
#include <napi.h>

namespace mt::napi {

void RegisterOps(Napi::Env env, Napi::Object exports);
// The neural-network ops (nn_binding.cc).
void RegisterNnOps(Napi::Env env, Napi::Object exports);
void RegisterTensor(Napi::Env env, Napi::Object exports);
void RegisterRuntime(Napi::Env env, Napi::Object exports);
// The shared-memory communicator (comm_binding.cc).
void RegisterComm(Napi::Env env, Napi::Object exports);

}  // namespace mt::napi
