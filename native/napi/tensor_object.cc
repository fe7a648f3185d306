#include "tensor_object.h"

#include <cstring>

#include "../core/error.h"
#include "args.h"
#include "errors.h"

namespace mt::napi {

Napi::Function TensorObject::Define(Napi::Env env) {
  return DefineClass(env, "Tensor",
                     {
                         InstanceAccessor<&TensorObject::Shape>("shape"),
                         InstanceAccessor<&TensorObject::DType>("dtype"),
                         InstanceAccessor<&TensorObject::Device>("device"),
                         InstanceAccessor<&TensorObject::Disposed>("disposed"),
                         InstanceMethod<&TensorObject::ToFloat32Array>("toFloat32Array"),
                         InstanceMethod<&TensorObject::ToInt32Array>("toInt32Array"),
                         InstanceMethod<&TensorObject::ToBytes>("toBytes"),
                         InstanceMethod<&TensorObject::To>("to"),
                         InstanceMethod<&TensorObject::Dispose>("dispose"),
                         InstanceMethod<&TensorObject::Reshape>("reshape"),
                         InstanceMethod<&TensorObject::Narrow>("narrow"),
                     });
}

TensorObject::TensorObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorObject>(info), env_(info.Env()) {
  AddonData* data = info.Env().GetInstanceData<AddonData>();
  if (!data || !data->wrapping)
    throw_js(info.Env(), "Tensor: construct tensors with tensor(data, shape, options)", "ERR_MOONTRAIN_INVALID_ARGUMENT",
             "Tensor", nullptr);
}

TensorObject::~TensorObject() { Release(); }

Napi::Object TensorObject::Wrap(Napi::Env env, Tensor t) {
  // No per-object External (Node keeps a small record per External until exit); a flag instead.
  AddonData* data = env.GetInstanceData<AddonData>();
  data->wrapping = true;
  Napi::Object obj;
  try {
    obj = data->tensor_constructor.New({});
  } catch (...) {
    data->wrapping = false;
    throw;
  }
  data->wrapping = false;
  TensorObject* self = Unwrap(obj);
  self->tensor_ = std::move(t);
  if (data->report_external_memory) {
    self->reported_bytes_ = static_cast<int64_t>(self->tensor_.nbytes());
    data->reported_external_bytes += self->reported_bytes_;
    Napi::MemoryManagement::AdjustExternalMemory(env, self->reported_bytes_);
  }
  return obj;
}

TensorObject* TensorObject::FromValue(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  AddonData* data = v.Env().GetInstanceData<AddonData>();
  if (!data || !v.As<Napi::Object>().InstanceOf(data->tensor_constructor.Value())) return nullptr;
  void* raw = nullptr;
  // A prototype-only impostor (Object.create(Tensor.prototype)) passes InstanceOf but has no wrap.
  if (napi_unwrap(v.Env(), v, &raw) != napi_ok || !raw) return nullptr;
  return static_cast<TensorObject*>(raw);
}

void TensorObject::Release() {
  if (!tensor_.storage) return;
  tensor_.storage.reset();
  if (reported_bytes_) {
    if (AddonData* data = env_.GetInstanceData<AddonData>()) data->reported_external_bytes -= reported_bytes_;
    Napi::MemoryManagement::AdjustExternalMemory(env_, -reported_bytes_);
  }
  reported_bytes_ = 0;
}

Napi::Value TensorObject::Shape(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env(), tensor_.shape.size());
  for (size_t i = 0; i < tensor_.shape.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(tensor_.shape[i]));
  return a;
}

Napi::Value TensorObject::DType(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtype_name(tensor_.dtype)); }

Napi::Value TensorObject::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tensor_.device() == mt::Device::CUDA ? "cuda" : "cpu");
}

Napi::Value TensorObject::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed()); }

Napi::Value TensorObject::ToFloat32Array(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (disposed()) throw ArgError("toFloat32Array", "this", "a live tensor (not disposed)", "a disposed tensor");
    const Tensor host = to_device(tensor_, Device::CPU);
    const int64_t n = host.numel();
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(n));
    float* dst = out.Data();
    for (int64_t i = 0; i < n; ++i) dst[i] = load_as_f32(host.data(), host.dtype, i);
    return out;
  });
}

Napi::Value TensorObject::ToInt32Array(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (disposed()) throw ArgError("toInt32Array", "this", "a live tensor (not disposed)", "a disposed tensor");
    if (tensor_.dtype != mt::DType::I32)
      throw ArgError("toInt32Array", "this", "an i32 tensor", std::string("a ") + dtype_name(tensor_.dtype) + " tensor");
    const Tensor host = to_device(tensor_, Device::CPU);
    Napi::Int32Array out = Napi::Int32Array::New(info.Env(), static_cast<size_t>(host.numel()));
    if (host.numel() > 0) std::memcpy(out.Data(), host.data(), host.nbytes());
    return out;
  });
}

Napi::Value TensorObject::ToBytes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (disposed()) throw ArgError("toBytes", "this", "a live tensor (not disposed)", "a disposed tensor");
    const Tensor host = to_device(tensor_, mt::Device::CPU);
    Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), host.nbytes());
    if (host.nbytes() > 0) std::memcpy(out.Data(), host.data(), host.nbytes());
    return out;
  });
}

Napi::Value TensorObject::To(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (disposed()) throw ArgError("to", "this", "a live tensor (not disposed)", "a disposed tensor");
    if (info[0].IsUndefined()) throw ArgError("to", "device", "'cpu' or 'cuda'", "undefined");
    const mt::Device device = device_arg(info[0], mt::Device::CPU, "to", "device");
    return Wrap(info.Env(), to_device(tensor_, device));
  });
}

Napi::Value TensorObject::Dispose(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace mt::napi

namespace mt::napi {

// A new Tensor over the same storage with another shape of the same element count. The
// storage lives until every view is disposed (or collected).
Napi::Value TensorObject::Reshape(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (disposed()) throw ArgError("reshape", "this", "a live tensor (not disposed)", "a disposed tensor");
    const mt::Shape shape = shape_arg(info[0], "reshape", "shape");
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (n != tensor_.numel())
      throw ArgError("reshape", "shape", std::to_string(tensor_.numel()) + " elements (as " + shape_str(tensor_.shape) + ")",
                     shape_str(shape));
    Tensor view = tensor_;
    view.shape = shape;
    return Wrap(info.Env(), std::move(view));
  });
}

// A view of `length` entries from `start` along `axis`, sharing the memory. Only a window that is
// contiguous in the row-major layout can be a view: along the first axis whose size is not 1.
Napi::Value TensorObject::Narrow(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "narrow";
    if (disposed()) throw ArgError(op, "this", "a live tensor (not disposed)", "a disposed tensor");
    const int rank = tensor_.rank();
    const auto integer = [&](const Napi::Value& v, const char* name, double lo, double hi) -> int64_t {
      const std::string range = "an integer in [" + std::to_string(int64_t(lo)) + ", " + std::to_string(int64_t(hi)) + "]";
      if (!v.IsNumber()) throw ArgError(op, name, range, describe(v));
      const double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int64_t>(d))) throw ArgError(op, name, range, describe(v));
      return static_cast<int64_t>(d);
    };
    int64_t axis = integer(info[0], "axis", -rank, rank - 1);
    if (axis < 0) axis += rank;
    const int64_t size = tensor_.shape[axis];
    const int64_t start = integer(info[1], "start", 0, static_cast<double>(size));
    const int64_t length = integer(info[2], "length", 0, static_cast<double>(size - start));
    for (int64_t d = 0; d < axis; ++d)
      if (tensor_.shape[d] != 1)
        throw ArgError(op, "axis",
                       "an axis with only dimensions of size 1 before it (a view must be contiguous in " +
                           shape_str(tensor_.shape) + "; split copies any window)",
                       std::to_string(axis));
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < rank; ++d) inner *= tensor_.shape[d];
    Tensor view = tensor_;
    view.shape[axis] = length;
    view.offset += static_cast<size_t>(start * inner) * dtype_size(tensor_.dtype);
    return Wrap(info.Env(), std::move(view));
  });
}

}  // namespace mt::napi
