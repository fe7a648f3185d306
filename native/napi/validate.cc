#include "validate.h"

#include <cmath>
#include <cstring>
#include <string>

#include "../core/error.h"
#include "args.h"
#include "tensor_object.h"

namespace mt::napi {

void require_f32(const Tensor& t, const char* op, const char* name, const char* why) {
  if (t.dtype != DType::F32)
    throw ArgError(op, name, std::string("dtype f32") + (why ? std::string(" (") + why + ")" : ""), dtype_name(t.dtype));
}

void require_shape(const Tensor& t, const Shape& s, const char* op, const char* name, const std::string& why) {
  if (t.shape != s) throw ArgError(op, name, "shape " + shape_str(s) + (why.empty() ? "" : " (" + why + ")"), shape_str(t.shape));
}

// Same shape, dtype and device as ref.
void require_like(const Tensor& t, const Tensor& ref, const char* op, const char* name, const char* ref_name) {
  require_shape(t, ref.shape, op, name, std::string("as ") + ref_name);
  require_same_dtype(t, ref, op, name, ref_name);
  require_same_device(t, ref, op, name, ref_name);
}

// For in-place ops: t must not share memory with other.
void require_distinct(const Tensor& t, const Tensor& other, const char* op, const char* name, const char* other_name) {
  if (overlaps(t, other))
    throw ArgError(op, name, std::string("a tensor distinct from ") + other_name,
                   std::string(t.data() == other.data() && t.nbytes() == other.nbytes() ? "the same memory as " : "memory overlapping ") +
                       other_name);
}

// An Int32Array of `length` entries, each in [lo, hi]. `what` describes the entries, e.g.
// "token ids in [0, 100)".
Tensor index_arg(const Napi::Value& v, int64_t length, int64_t lo, int64_t hi, const char* op, const char* name,
                 const std::string& what) {
  const std::string expected = "an Int32Array or i32 tensor of " + std::to_string(length) + " " + what;
  Tensor t;
  if (const Tensor* given = index_tensor_arg(v, op, name)) {
    if (given->numel() != length) throw ArgError(op, name, expected, "length " + std::to_string(given->numel()));
    const IndexFacts& f = given->facts();
    if (lo <= 0 && f.bound > 0 && f.bound - 1 <= hi) return *given;  // its producer checked the range
    t = *given;
  } else {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw ArgError(op, name, expected, describe(v));
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    const int64_t n = static_cast<int64_t>(a.ElementLength());
    if (n != length) throw ArgError(op, name, expected, "length " + std::to_string(n));
    t = empty_tensor({n}, DType::I32);
    if (n > 0) std::memcpy(t.data(), a.Data(), static_cast<size_t>(n) * 4);
  }
  const Tensor host = to_device(t, Device::CPU);
  const int32_t* p = host.ptr<const int32_t>();
  for (int64_t i = 0; i < length; ++i)
    if (p[i] < lo || p[i] > hi) throw ArgError(op, name, expected, "entry " + std::to_string(i) + " = " + std::to_string(p[i]));
  return t;
}

std::vector<int32_t> int32_arg(const Napi::Value& v, int64_t length, int64_t lo, int64_t hi, const char* op, const char* name,
                               const std::string& what) {
  const Tensor host = to_device(index_arg(v, length, lo, hi, op, name, what), Device::CPU);
  const int32_t* p = host.ptr<const int32_t>();
  return std::vector<int32_t>(p, p + length);
}

int64_t int32_length(const Napi::Value& v, const char* op, const char* name, const std::string& what) {
  if (const Tensor* given = index_tensor_arg(v, op, name)) return given->numel();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw ArgError(op, name, "an Int32Array or i32 tensor of " + what, describe(v));
  return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength());
}

Tensor order_arg(const Napi::Value& v, int64_t n, const char* op, const char* name) {
  const Tensor order = index_arg(v, n, 0, n - 1, op, name, "entries, a permutation of [0, " + std::to_string(n) + ")");
  if (order.facts().permutation) return order;  // made by moePermute
  const Tensor host = to_device(order, Device::CPU);
  const int32_t* p = host.ptr<const int32_t>();
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (seen[p[i]])
      throw ArgError(op, name, "a permutation of [0, " + std::to_string(n) + ")", "entry " + std::to_string(i) + " = " + std::to_string(p[i]) + " repeated");
    seen[p[i]] = 1;
  }
  return order;
}

// options[key], a finite number that must be present.
double required_number(const Napi::Object& o, const char* key, const char* op) {
  if (o.Get(key).IsUndefined()) throw ArgError(op, "options", std::string(key) + " to be a finite number (required)", "undefined");
  return number_option(o, key, 0, op);
}

// options[key] as a finite number in a range; lo_open / hi_open exclude the bound.
double ranged_number(const Napi::Object& o, const char* key, double fallback, bool required, double lo, bool lo_open, double hi,
                     bool hi_open, const char* op) {
  const double d = required ? required_number(o, key, op) : number_option(o, key, fallback, op);
  const bool ok = (lo_open ? d > lo : d >= lo) && (hi_open ? d < hi : d <= hi);
  if (!ok) {
    std::string range;
    if (std::isinf(hi)) range = std::string(lo_open ? "> " : ">= ") + number_str(lo);
    else range = "in " + std::string(lo_open ? "(" : "[") + number_str(lo) + ", " + number_str(hi) + (hi_open ? ")" : "]");
    throw ArgError(op, "options", std::string(key) + " " + range, number_str(d));
  }
  return d;
}

int axis_option(const Napi::Object& o, int rank, const char* op) {
  const int64_t axis = integer_option(o, "axis", -1, -rank, rank - 1, op);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// A plain finite number argument (the factor of scale / scaleInPlace).
double number_arg(const Napi::Value& v, const char* op, const char* name) {
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) throw ArgError(op, name, "a finite number", describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

Napi::Value wrap(Napi::Env env, Tensor t) { return TensorObject::Wrap(env, std::move(t)); }

}  // namespace mt::napi
