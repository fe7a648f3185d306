// The JS Tensor class: a handle owning a native tensor until dispose() or garbage collection.
#pragma once
#include <napi.h>

#include "../core/tensor.h"

namespace mt::napi {

class TensorObject : public Napi::ObjectWrap<TensorObject> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Wraps a native tensor in a new JS Tensor.
  static Napi::Object Wrap(Napi::Env env, Tensor t);
  // The TensorObject behind v, or null when v is not a Tensor made by this addon.
  static TensorObject* FromValue(const Napi::Value& v);

  explicit TensorObject(const Napi::CallbackInfo& info);
  ~TensorObject() override;

  bool disposed() const { return !tensor_.storage; }
  const Tensor& tensor() const { return tensor_; }

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value ToFloat32Array(const Napi::CallbackInfo& info);
  Napi::Value ToInt32Array(const Napi::CallbackInfo& info);
  Napi::Value ToBytes(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  Napi::Value Narrow(const Napi::CallbackInfo& info);
  void Release();

  Tensor tensor_;
  Napi::Env env_;
  int64_t reported_bytes_ = 0;  // told to V8 as external memory (see AddonData)
};

// Per-environment (main thread or worker_thread) state of the addon.
struct AddonData {
  Napi::FunctionReference tensor_constructor;
  // Set by TensorObject::Wrap around its constructor call: user code cannot construct tensors.
  bool wrapping = false;
  // New tensors report their bytes to V8 as external memory, so that tensors dropped without
  // dispose() are collected soon. The model and optimizers turn it off around their own steps:
  // they dispose every intermediate themselves, and reporting ~70 MB of activations per tiny
  // step made V8 run a full mark-compact every step (measured with --trace-gc).
  bool report_external_memory = true;
  int64_t reported_external_bytes = 0;  // the sum now reported, for tests
};

}  // namespace mt::napi
