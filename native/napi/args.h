// Reading and validating JS arguments. Every failure throws mt::ArgError naming the op, the
// argument, what was expected and what came; no arithmetic happens in this layer.
#pragma once
#include <napi.h>

#include <array>
#include <string>
#include <vector>

#include "../core/tensor.h"
#include "../op_table.h"

namespace mt::napi {

// A number for messages: integers without a fraction, others as %g, NaN and infinities by name.
std::string number_str(double v);

// A short description of a JS value for error messages ("null", "a string", "a disposed tensor", ...).
std::string describe(const Napi::Value& v);

// The live f32 or bf16 tensor behind a JS Tensor object (the arithmetic ops' operands).
const Tensor& tensor_arg(const Napi::Value& v, const char* op, const char* name);
// The live i32 tensor behind v, or null when v is not a Tensor (an i32 index argument).
const Tensor* index_tensor_arg(const Napi::Value& v, const char* op, const char* name);

// A shape: array of 1..kMaxRank non-negative integers whose product fits kMaxElements.
Shape shape_arg(const Napi::Value& v, const char* op, const char* name);

// Options object or undefined; returns an empty object for undefined.
Napi::Object options_arg(const Napi::Value& v, const char* op);

// options[key] as bool (absent/undefined → fallback).
bool bool_option(const Napi::Object& o, const char* key, bool fallback, const char* op);
// options[key] as a number (absent/undefined → fallback); must be finite.
double number_option(const Napi::Object& o, const char* key, double fallback, const char* op);
// options[key] as an integer in [lo, hi] (absent/undefined → fallback).
int64_t integer_option(const Napi::Object& o, const char* key, int64_t fallback, int64_t lo, int64_t hi, const char* op);

// options[key] as a live tensor, or null when absent/undefined.
const Tensor* tensor_option(const Napi::Object& o, const char* key, const char* op);
// t must have exactly this shape.
void require_shape(const Tensor& t, const Shape& shape, const char* op, const char* name);

// Sizes (number[], Int32Array or i32 tensor) of length `groups`, non-negative integers summing to
// `total`.
std::vector<int64_t> sizes_arg(const Napi::Value& v, int64_t groups, int64_t total, const char* op, const char* name);
// The same as an i32 tensor (a tensor from moePermute for `total` rows is not re-checked).
Tensor group_sizes_arg(const Napi::Value& v, int64_t groups, int64_t total, const char* op, const char* name);

// A device name, 'cpu' or 'cuda' (undefined -> fallback). 'cuda' needs a usable GPU: without one
// the error says why (CUDA not compiled, no driver, no device).
Device device_arg(const Napi::Value& v, Device fallback, const char* op, const char* name);

// Requirements on tensors already read.
void require_rank(const Tensor& t, int lo, int hi, const char* op, const char* name);
void require_same_dtype(const Tensor& t, const Tensor& ref, const char* op, const char* name, const char* ref_name);
void require_same_device(const Tensor& t, const Tensor& ref, const char* op, const char* name, const char* ref_name);

// The op table of t's device, or an error when that backend lacks the op (has_op false).
const OpTable& backend_for(const Tensor& t, const char* op, const char* name, bool has_op);

}  // namespace mt::napi
