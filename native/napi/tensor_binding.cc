// tensor(data, shape, options): host data in, a native tensor out.
#include <cmath>

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
  throw ArgError("tensor", "options", "dtype 'f32' or 'bf16'", describe(v));
}

Napi::Value CreateTensor(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "tensor";
    Napi::Value data = info[0];
    const bool is_f32 = data.IsTypedArray() && data.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
    if (!is_f32 && !data.IsArray()) throw ArgError(op, "data", "a Float32Array or number[]", describe(data));
    const Shape shape = shape_arg(info[1], op, "shape");
    Napi::Object o = options_arg(info[2], op);
    const DType dtype = dtype_option(o);
    const Device device = device_arg(o.Get("device"), Device::CPU, op, "options.device");
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const int64_t length = is_f32 ? static_cast<int64_t>(data.As<Napi::Float32Array>().ElementLength())
                                  : static_cast<int64_t>(data.As<Napi::Array>().Length());
    if (length != n)
      throw ArgError(op, "data", std::to_string(n) + " elements (the product of shape " + shape_str(shape) + ")",
                     std::to_string(length) + " elements");
    Tensor t = empty_tensor(shape, dtype);
    if (is_f32) {
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

}  // namespace

void RegisterTensor(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = TensorObject::Define(env);
  env.GetInstanceData<AddonData>()->tensor_constructor = Napi::Persistent(ctor);
  exports.Set("Tensor", ctor);
  exports.Set("tensor", Napi::Function::New<CreateTensor>(env, "tensor"));
}

}  // namespace mt::napi
