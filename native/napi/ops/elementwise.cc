// Bindings of elementwise ops, conversions, split and concat: read and validate every argument, then call the op table.
#include <cmath>
#include <string>

#include "../../core/error.h"
#include "../../op_table.h"
#include "../args.h"
#include "../errors.h"
#include "../op_bindings.h"
#include "../tensor_object.h"
#include "../validate.h"

namespace mt::napi {

using std::to_string;

Napi::Value bind_add(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "add";
    const Tensor& a = tensor_arg(info[0], op, "a");
    const Tensor& b = tensor_arg(info[1], op, "b");
    require_like(b, a, op, "b", "a");
    Napi::Object o = options_arg(info[2], op);
    const float alpha = static_cast<float>(number_option(o, "alpha", 1.0, op));
    const OpTable& t = backend_for(a, op, "a", ops_for(a.device()).add);
    return wrap(info.Env(), t.add(a, b, alpha));
  });
}

Napi::Value bind_scale(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "scale";
    const Tensor& a = tensor_arg(info[0], op, "a");
    const float s = static_cast<float>(number_arg(info[1], op, "s"));
    const OpTable& t = backend_for(a, op, "a", ops_for(a.device()).scale);
    return wrap(info.Env(), t.scale(a, s));
  });
}

Napi::Value bind_scale_in_place(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "scaleInPlace";
    const Tensor& a = tensor_arg(info[0], op, "t");
    const float s = static_cast<float>(number_arg(info[1], op, "s"));
    const OpTable& t = backend_for(a, op, "t", ops_for(a.device()).scale_in_place);
    t.scale_in_place(a, s);
    return info.Env().Undefined();
  });
}

Napi::Value bind_sum_squares(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "sumSquares";
    const Tensor& a = tensor_arg(info[0], op, "t");
    const OpTable& t = backend_for(a, op, "t", ops_for(a.device()).sum_squares);
    return Napi::Number::New(info.Env(), t.sum_squares(a));
  });
}

Napi::Value bind_copy(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "copy";
    const Tensor& src = tensor_arg(info[0], op, "src");
    Napi::Object o = options_arg(info[1], op);
    DType dtype = src.dtype;
    Napi::Value dv = o.Get("dtype");
    if (!dv.IsUndefined()) {
      const std::string s = dv.IsString() ? dv.As<Napi::String>().Utf8Value() : "";
      if (s == "f32") dtype = DType::F32;
      else if (s == "bf16") dtype = DType::BF16;
      else throw ArgError(op, "options", "dtype 'f32' or 'bf16'", describe(dv));
    }
    const OpTable& t = backend_for(src, op, "src", ops_for(src.device()).copy);
    return wrap(info.Env(), t.copy(src, dtype));
  });
}

Napi::Value bind_assign(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "assign";
    const Tensor& dst = tensor_arg(info[0], op, "dst");
    const Tensor& src = tensor_arg(info[1], op, "src");
    require_shape(src, dst.shape, op, "src", "as dst");
    require_same_device(src, dst, op, "src", "dst");
    if (src.storage == dst.storage && src.offset == dst.offset) return info.Env().Undefined();  // dst already holds src
    require_distinct(src, dst, op, "src", "dst");
    const OpTable& t = backend_for(dst, op, "dst", ops_for(dst.device()).assign);
    t.assign(dst, src);
    return info.Env().Undefined();
  });
}

Napi::Value bind_split(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "split";
    const Tensor& x = tensor_arg(info[0], op, "x");
    const int axis = axis_option(options_arg(info[2], op), x.rank(), op);
    const int64_t n = x.shape[axis];
    int64_t parts = 0;
    if (info[1].IsArray()) parts = info[1].As<Napi::Array>().Length();
    else if (info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array)
      parts = static_cast<int64_t>(info[1].As<Napi::TypedArray>().ElementLength());
    else throw ArgError(op, "sizes", "a number[] of sizes summing to dimension " + to_string(axis) + " (" + to_string(n) + ")", describe(info[1]));
    if (parts < 1) throw ArgError(op, "sizes", "at least one size", "an empty list");
    const std::vector<int64_t> sizes = sizes_arg(info[1], parts, n, op, "sizes");
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).split);
    std::vector<Tensor> pieces = t.split(x, sizes, axis);
    Napi::Array out = Napi::Array::New(info.Env(), pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) out.Set(static_cast<uint32_t>(i), wrap(info.Env(), std::move(pieces[i])));
    return out;
  });
}

Napi::Value bind_concat(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "concat";
    if (!info[0].IsArray()) throw ArgError(op, "tensors", "an array of tensors", describe(info[0]));
    Napi::Array list = info[0].As<Napi::Array>();
    if (list.Length() < 1) throw ArgError(op, "tensors", "at least one tensor", "an empty array");
    std::vector<Tensor> parts;
    int64_t total = 0;
    int axis = 0;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value e = list.Get(i);
      TensorObject* obj = TensorObject::FromValue(e);
      const std::string where = "entry " + to_string(i) + " ";
      if (!obj) throw ArgError(op, "tensors", "an array of tensors", where + describe(e));
      if (obj->disposed()) throw ArgError(op, "tensors", "live tensors (not disposed)", where + "a disposed tensor");
      const Tensor& p = obj->tensor();
      if (parts.empty()) axis = axis_option(options_arg(info[1], op), p.rank(), op);
      if (!parts.empty()) {
        const Tensor& first = parts[0];
        Shape other = p.shape, other0 = first.shape;
        if (p.rank() == first.rank()) other[axis] = other0[axis] = 0;
        if (p.rank() != first.rank() || other != other0)
          throw ArgError(op, "tensors", "the shape of entry 0 (" + shape_str(first.shape) + ") but for dimension " + to_string(axis),
                         where + "of shape " + shape_str(p.shape));
        if (p.dtype != first.dtype)
          throw ArgError(op, "tensors", std::string("dtype ") + dtype_name(first.dtype) + " (as entry 0)", where + "of dtype " + dtype_name(p.dtype));
        if (p.device() != first.device()) throw ArgError(op, "tensors", "tensors on one device", where + "on another device");
      }
      total += p.shape[axis];
      parts.push_back(p);
    }
    int64_t lead = 1;
    for (int r = 0; r < parts[0].rank(); ++r) lead *= r == axis ? 1 : parts[0].shape[r];
    if (lead > 0 && total > kMaxElements / lead) throw ArgError(op, "tensors", "an output of at most 2^40 elements", to_string(lead) + " rows of " + to_string(total));
    const OpTable& t = backend_for(parts[0], op, "tensors", ops_for(parts[0].device()).concat);
    return wrap(info.Env(), t.concat(parts, axis));
  });
}

}  // namespace mt::napi
