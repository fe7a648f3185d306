#include "args.h"

#include <cmath>
#include <limits>

#include "../core/error.h"
#include "../cuda_status.h"
#include "tensor_object.h"

namespace mt::napi {

namespace {

std::string rank_range(int lo, int hi) {
  return lo == hi ? "rank " + std::to_string(lo) : "rank " + std::to_string(lo) + " to " + std::to_string(hi);
}

}  // namespace

std::string number_str(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) return number_str(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "the string \"" + v.As<Napi::String>().Utf8Value().substr(0, 40) + "\"";
  if (v.IsArray()) return "an array of length " + std::to_string(v.As<Napi::Array>().Length());
  if (v.IsTypedArray()) return "a typed array of length " + std::to_string(v.As<Napi::TypedArray>().ElementLength());
  if (v.IsFunction()) return "a function";
  if (TensorObject* t = TensorObject::FromValue(v)) {
    if (t->disposed()) return "a disposed tensor";
    return "a " + std::string(dtype_name(t->tensor().dtype)) + " tensor of shape " + shape_str(t->tensor().shape);
  }
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

const Tensor& tensor_arg(const Napi::Value& v, const char* op, const char* name) {
  TensorObject* t = TensorObject::FromValue(v);
  if (!t) throw ArgError(op, name, "a Tensor", describe(v));
  if (t->disposed()) throw ArgError(op, name, "a live tensor (not disposed)", "a disposed tensor");
  if (t->tensor().dtype == DType::I32) throw ArgError(op, name, "an f32 or bf16 tensor", "an i32 tensor");
  return t->tensor();
}

const Tensor* index_tensor_arg(const Napi::Value& v, const char* op, const char* name) {
  TensorObject* t = TensorObject::FromValue(v);
  if (!t) return nullptr;
  if (t->disposed()) throw ArgError(op, name, "a live tensor (not disposed)", "a disposed tensor");
  if (t->tensor().dtype != DType::I32) throw ArgError(op, name, "an i32 tensor", std::string("a ") + dtype_name(t->tensor().dtype) + " tensor");
  return &t->tensor();
}

Shape shape_arg(const Napi::Value& v, const char* op, const char* name) {
  if (!v.IsArray()) throw ArgError(op, name, "an array of 1 to 4 non-negative integers", describe(v));
  Napi::Array a = v.As<Napi::Array>();
  const uint32_t rank = a.Length();
  if (rank < 1 || rank > static_cast<uint32_t>(kMaxRank))
    throw ArgError(op, name, "an array of 1 to 4 non-negative integers", "rank " + std::to_string(rank));
  Shape s;
  int64_t product = 1;
  for (uint32_t i = 0; i < rank; ++i) {
    Napi::Value e = a.Get(i);
    const std::string where = "entry " + std::to_string(i) + " ";
    if (!e.IsNumber()) throw ArgError(op, name, "non-negative integer dimensions", where + describe(e));
    const double d = e.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0)
      throw ArgError(op, name, "non-negative integer dimensions", where + number_str(d));
    const int64_t dim = static_cast<int64_t>(d);
    s.push_back(dim);
    if (dim != 0 && product > kMaxElements / dim)
      throw ArgError(op, name, "at most 2^40 elements in all", "shape whose product overflows (" + shape_str(s) + "...)");
    product *= dim;
  }
  // A zero dimension makes the product 0 even after an earlier huge one; check each dim alone too.
  for (int64_t d : s)
    if (d > kMaxElements) throw ArgError(op, name, "dimensions of at most 2^40", shape_str(s));
  return s;
}

Napi::Object options_arg(const Napi::Value& v, const char* op) {
  if (v.IsUndefined()) return Napi::Object::New(v.Env());
  if (!v.IsObject() || v.IsArray() || v.IsFunction() || TensorObject::FromValue(v))
    throw ArgError(op, "options", "an options object or undefined", describe(v));
  return v.As<Napi::Object>();
}

bool bool_option(const Napi::Object& o, const char* key, bool fallback, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw ArgError(op, "options", std::string(key) + " to be a boolean", describe(v));
  return v.As<Napi::Boolean>().Value();
}

const Tensor* tensor_option(const Napi::Object& o, const char* key, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return nullptr;
  return &tensor_arg(v, op, (std::string("options.") + key).c_str());
}

double number_option(const Napi::Object& o, const char* key, double fallback, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw ArgError(op, "options", std::string(key) + " to be a finite number", describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw ArgError(op, "options", std::string(key) + " to be a finite number", number_str(d));
  return d;
}

int64_t integer_option(const Napi::Object& o, const char* key, int64_t fallback, int64_t lo, int64_t hi, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  const std::string expected = std::string(key) + " to be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!v.IsNumber()) throw ArgError(op, "options", expected, describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    throw ArgError(op, "options", expected, number_str(d));
  return static_cast<int64_t>(d);
}

std::vector<int64_t> sizes_arg(const Napi::Value& v, int64_t groups, int64_t total, const char* op, const char* name) {
  const std::string expected = std::to_string(groups) + " non-negative integers summing to " + std::to_string(total);
  std::vector<int64_t> sizes;
  if (const Tensor* t = index_tensor_arg(v, op, name)) {
    const Tensor host = to_device(*t, Device::CPU);
    for (int64_t i = 0; i < host.numel(); ++i) sizes.push_back(host.ptr<int32_t>()[i]);
  } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    for (size_t i = 0; i < a.ElementLength(); ++i) sizes.push_back(a[i]);
  } else if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      if (!e.IsNumber()) throw ArgError(op, name, expected, "entry " + std::to_string(i) + " " + describe(e));
      const double d = e.As<Napi::Number>().DoubleValue();
      if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0)
        throw ArgError(op, name, expected, "entry " + std::to_string(i) + " " + number_str(d));
      sizes.push_back(static_cast<int64_t>(d));
    }
  } else {
    throw ArgError(op, name, "a number[], Int32Array or i32 tensor of " + expected, describe(v));
  }
  if (static_cast<int64_t>(sizes.size()) != groups)
    throw ArgError(op, name, expected, "length " + std::to_string(sizes.size()));
  int64_t sum = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) throw ArgError(op, name, expected, "entry " + std::to_string(i) + " " + std::to_string(sizes[i]));
    if (sizes[i] > total) throw ArgError(op, name, expected, "entry " + std::to_string(i) + " " + std::to_string(sizes[i]));
    sum += sizes[i];
    if (sum > total) break;
  }
  if (sum != total) throw ArgError(op, name, expected, sum > total ? "a sum above " + std::to_string(total) : "a sum of " + std::to_string(sum));
  return sizes;
}

Tensor group_sizes_arg(const Napi::Value& v, int64_t groups, int64_t total, const char* op, const char* name) {
  if (const Tensor* t = index_tensor_arg(v, op, name))
    if (t->numel() == groups && t->facts().sum == total) return *t;  // made by moePermute for these rows
  const std::vector<int64_t> sizes = sizes_arg(v, groups, total, op, name);
  if (total > std::numeric_limits<int32_t>::max())
    throw ArgError(op, name, "groups of fewer than 2^31 rows", "a sum of " + std::to_string(total));
  Tensor r = empty_tensor({groups}, DType::I32);
  for (int64_t i = 0; i < groups; ++i) r.ptr<int32_t>()[i] = static_cast<int32_t>(sizes[i]);
  r.storage->facts.sum = total;
  return r;
}

void require_rank(const Tensor& t, int lo, int hi, const char* op, const char* name) {
  if (t.rank() < lo || t.rank() > hi)
    throw ArgError(op, name, "a tensor of " + rank_range(lo, hi), "shape " + shape_str(t.shape));
}

void require_shape(const Tensor& t, const Shape& shape, const char* op, const char* name) {
  if (t.shape != shape) throw ArgError(op, name, "shape " + shape_str(shape), shape_str(t.shape));
}

void require_same_dtype(const Tensor& t, const Tensor& ref, const char* op, const char* name, const char* ref_name) {
  if (t.dtype != ref.dtype)
    throw ArgError(op, name, std::string("dtype ") + dtype_name(ref.dtype) + " (as " + ref_name + ")", dtype_name(t.dtype));
}

const OpTable& backend_for(const Tensor& t, const char* op, const char* name, bool has_op) {
  const OpTable& table = ops_for(t.device());
  if (!has_op) throw ArgError(op, name, "a tensor on a device that implements " + std::string(op), std::string("a ") + table.backend + " tensor");
  return table;
}

Device device_arg(const Napi::Value& v, Device fallback, const char* op, const char* name) {
  if (v.IsUndefined()) return fallback;
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return Device::CPU;
  if (s != "cuda") throw ArgError(op, name, "'cpu' or 'cuda'", describe(v));
  const CudaStatus cuda = cuda_status();
  if (!cuda.available) throw ArgError(op, name, "'cpu' (CUDA is not usable here: " + cuda.reason + ")", "'cuda'");
  return Device::CUDA;
}

void require_same_device(const Tensor& t, const Tensor& ref, const char* op, const char* name, const char* ref_name) {
  if (t.device() != ref.device())
    throw ArgError(op, name, std::string("a tensor on ") + device_name(ref.device()) + " (the device of " + ref_name + ")",
                   std::string("a tensor on ") + device_name(t.device()));
}

}  // namespace mt::napi
