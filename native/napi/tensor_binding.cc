// tensor(data, shape, options): host data in, a native tensor out.
#include <cmath>
#include <cstring>

#include "../core/error.h"
#include "../cuda_status.h"
#include "../op_table.h"
#include "args.h"
#include "errors.h"
#include "register.h"
#include "tensor_object.h"

namespace mt::napi {

namespace {

DType dtype_option(const Napi::Object& o) {
  Napi::Value v = o.Get("dtype");
  if (v.IsUndefined()) return DType::F32;
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "f32") return DType::F32;
  if (s == "bf16") return DType::BF16;
  if (s == "i32") return DType::I32;
  throw ArgError("tensor", "options", "dtype 'f32', 'bf16' or 'i32'", describe(v));
}

// An i32 tensor from an Int32Array or a number[] of integers in [-2^31, 2^31).
Tensor index_tensor_from(const Napi::Value& data, const Shape& shape, int64_t n, const char* op) {
  Tensor t = empty_tensor(shape, DType::I32);
  int32_t* dst = t.ptr<int32_t>();
  if (data.IsTypedArray() && data.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    if (n > 0) std::memcpy(dst, data.As<Napi::Int32Array>().Data(), static_cast<size_t>(n) * 4);
    return t;
  }
  Napi::Array a = data.As<Napi::Array>();
  for (int64_t i = 0; i < n; ++i) {
    Napi::Value e = a.Get(static_cast<uint32_t>(i));
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : 0.5;
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != std::floor(d))
      throw ArgError(op, "data", "integers in [-2^31, 2^31) (dtype i32)", "entry " + std::to_string(i) + " " + describe(e));
    dst[i] = static_cast<int32_t>(d);
  }
  return t;
}

Napi::Value CreateTensor(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "tensor";
    Napi::Value data = info[0];
    const Shape shape = shape_arg(info[1], op, "shape");
    Napi::Object o = options_arg(info[2], op);
    const DType dtype = dtype_option(o);
    const Device device = device_arg(o.Get("device"), Device::CPU, op, "options.device");
    const napi_typedarray_type kind = data.IsTypedArray() ? data.As<Napi::TypedArray>().TypedArrayType() : napi_uint8_clamped_array;
    const bool typed = dtype == DType::I32 ? kind == napi_int32_array : kind == napi_float32_array;
    if (!typed && !data.IsArray())
      throw ArgError(op, "data", dtype == DType::I32 ? "an Int32Array or number[] (dtype i32)" : "a Float32Array or number[]", describe(data));
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const int64_t length = typed ? static_cast<int64_t>(data.As<Napi::TypedArray>().ElementLength())
                                 : static_cast<int64_t>(data.As<Napi::Array>().Length());
    if (length != n)
      throw ArgError(op, "data", std::to_string(n) + " elements (the product of shape " + shape_str(shape) + ")",
                     std::to_string(length) + " elements");
    if (dtype == DType::I32) return TensorObject::Wrap(info.Env(), to_device(index_tensor_from(data, shape, n, op), device));
    Tensor t = empty_tensor(shape, dtype);
    if (typed) {
      const float* src = data.As<Napi::Float32Array>().Data();
      for (int64_t i = 0; i < n; ++i) store_from_f32(t.data(), dtype, i, src[i]);
    } else {
      Napi::Array a = data.As<Napi::Array>();
      for (int64_t i = 0; i < n; ++i) {
        Napi::Value e = a.Get(static_cast<uint32_t>(i));
        if (!e.IsNumber()) throw ArgError(op, "data", "numbers", "entry " + std::to_string(i) + " " + describe(e));
        store_from_f32(t.data(), dtype, i, static_cast<float>(e.As<Napi::Number>().DoubleValue()));
      }
    }
    return TensorObject::Wrap(info.Env(), to_device(t, device));
  });
}

// tensorFromBytes(bytes, shape, dtype, options): the raw little-endian elements of `dtype`, copied.
Napi::Value TensorFromBytes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "tensorFromBytes";
    Napi::Value data = info[0];
    if (!data.IsTypedArray() && !data.IsArrayBuffer() && !data.IsDataView())
      throw ArgError(op, "bytes", "a Uint8Array, Buffer, other typed array or ArrayBuffer", describe(data));
    const uint8_t* src = nullptr;
    size_t length = 0;
    if (data.IsArrayBuffer()) {
      src = static_cast<const uint8_t*>(data.As<Napi::ArrayBuffer>().Data());
      length = data.As<Napi::ArrayBuffer>().ByteLength();
    } else if (data.IsDataView()) {
      Napi::DataView v = data.As<Napi::DataView>();
      src = static_cast<const uint8_t*>(v.ArrayBuffer().Data()) + v.ByteOffset();
      length = v.ByteLength();
    } else {
      Napi::TypedArray v = data.As<Napi::TypedArray>();
      src = static_cast<const uint8_t*>(v.ArrayBuffer().Data()) + v.ByteOffset();
      length = v.ByteLength();
    }
    const Shape shape = shape_arg(info[1], op, "shape");
    const std::string name = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    if (name != "f32" && name != "bf16" && name != "i32") throw ArgError(op, "dtype", "'f32', 'bf16' or 'i32'", describe(info[2]));
    const DType dtype = name == "f32" ? DType::F32 : name == "bf16" ? DType::BF16 : DType::I32;
    Napi::Object o = options_arg(info[3], op);
    const Device device = device_arg(o.Get("device"), Device::CPU, op, "options.device");
    Tensor t = empty_tensor(shape, dtype);
    if (length != t.nbytes())
      throw ArgError(op, "bytes", std::to_string(t.nbytes()) + " bytes (" + shape_str(shape) + " " + dtype_name(dtype) + ")",
                     std::to_string(length) + " bytes");
    if (length > 0) std::memcpy(t.data(), src, length);
    return TensorObject::Wrap(info.Env(), to_device(t, device));
  });
}

}  // namespace

void RegisterTensor(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = TensorObject::Define(env);
  env.GetInstanceData<AddonData>()->tensor_constructor = Napi::Persistent(ctor);
  exports.Set("Tensor", ctor);
  exports.Set("tensor", Napi::Function::New<CreateTensor>(env, "tensor"));
  exports.Set("tensorFromBytes", Napi::Function::New<TensorFromBytes>(env, "tensorFromBytes"));
}

}  // namespace mt::napi
