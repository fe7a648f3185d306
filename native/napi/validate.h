// Validation helpers the op bindings share (native/napi/ops/). Every failure throws mt::ArgError
// naming the op, the argument, what was expected and what came.
#pragma once
#include <napi.h>

#include <limits>
#include <string>
#include <vector>

#include "../core/tensor.h"

namespace mt::napi {

constexpr double kInf = std::numeric_limits<double>::infinity();

void require_f32(const Tensor& t, const char* op, const char* name, const char* why = nullptr);

void require_shape(const Tensor& t, const Shape& s, const char* op, const char* name, const std::string& why);

// Same shape, dtype and device as ref.
void require_like(const Tensor& t, const Tensor& ref, const char* op, const char* name, const char* ref_name);

// For in-place ops: t must not share any byte of memory with other.
void require_distinct(const Tensor& t, const Tensor& other, const char* op, const char* name, const char* other_name);

// An index argument of `length` entries, each in [lo, hi], as an i32 tensor: an i32 tensor (not
// re-checked when the op that made it guarantees the range) or an Int32Array (copied, checked).
// `what` describes the entries, e.g. "token ids in [0, 100)".
Tensor index_arg(const Napi::Value& v, int64_t length, int64_t lo, int64_t hi, const char* op, const char* name,
                 const std::string& what);
// The same, as a host vector (for the ops whose kernels take one).
std::vector<int32_t> int32_arg(const Napi::Value& v, int64_t length, int64_t lo, int64_t hi, const char* op, const char* name,
                               const std::string& what);

// The length of an index argument (to derive sizes from it before reading it).
int64_t int32_length(const Napi::Value& v, const char* op, const char* name, const std::string& what);

// A permutation of [0, n) (the `order` of moePermute; its own output is not re-checked).
Tensor order_arg(const Napi::Value& v, int64_t n, const char* op, const char* name);

// options[key], a finite number that must be present.
double required_number(const Napi::Object& o, const char* key, const char* op);

// options[key] as a finite number in a range; lo_open / hi_open exclude the bound.
double ranged_number(const Napi::Object& o, const char* key, double fallback, bool required, double lo, bool lo_open, double hi,
                     bool hi_open, const char* op);

// options.axis: a dimension of a tensor of this rank, negative counting from the end (default -1,
// the last); returned in [0, rank).
int axis_option(const Napi::Object& o, int rank, const char* op);

// A plain finite number argument (the factor of scale / scaleInPlace).
double number_arg(const Napi::Value& v, const char* op, const char* name);

Napi::Value wrap(Napi::Env env, Tensor t);

}  // namespace mt::napi
