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
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  void Release();

  Tensor tensor_;
  Napi::Env env_;
};

// Per-environment (main thread or worker_thread) state of the addon.
struct AddonData {
  Napi::FunctionReference tensor_constructor;
  // Set by TensorObject::Wrap around its constructor call: user code cannot construct tensors.
  bool wrapping = false;
};

}  // namespace mt::napi
