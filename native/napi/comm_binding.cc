// Binding of the shared-memory communicator (native/comm): a JS class wrapping one
// mt::comm::Communicator. Every argument is read and validated here (ArgError names the op and
// the argument); a failure of the job becomes an Error with code ERR_MOONTRAIN_RANK_FAILED (or
// _COMM_ABORTED, _COMM_TIMEOUT, _COMM_MISMATCH) and `rank`, the rank at fault.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../comm/communicator.h"
#include "args.h"
#include "errors.h"
#include "mpi_binding.h"
#include "register.h"
#include "tensor_object.h"

namespace mt::napi {

namespace {

using comm::CommError;
using std::to_string;

// guarded(), plus the failed rank on job failures.
template <typename Body>
Napi::Value comm_guarded(const Napi::CallbackInfo& info, Body&& body) {
  return guarded(info, [&]() -> Napi::Value {
    try {
      return body();
    } catch (const CommError& e) {
      Napi::Error err = Napi::Error::New(info.Env(), e.what());
      err.Set("code", Napi::String::New(info.Env(), e.code));
      err.Set("op", Napi::String::New(info.Env(), e.op));
      if (e.failed_rank >= 0) err.Set("rank", Napi::Number::New(info.Env(), e.failed_rank));
      throw err;
    }
  });
}

std::string describe_tensor(const Tensor& t) {
  return std::string("a ") + dtype_name(t.dtype) + " tensor of shape " + shape_str(t.shape) + " (" + std::to_string(t.numel()) + " elements)";
}

int64_t integer_arg(const Napi::Value& v, int64_t lo, int64_t hi, const char* op, const char* name) {
  const std::string expected = "an integer in [" + to_string(lo) + ", " + to_string(hi) + "]";
  if (!v.IsNumber()) throw ArgError(op, name, expected, describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d)) throw ArgError(op, name, expected, number_str(d));
  return static_cast<int64_t>(d);
}

std::string string_arg(const Napi::Value& v, const char* op, const char* name, const char* expected) {
  if (!v.IsString()) throw ArgError(op, name, expected, describe(v));
  return v.As<Napi::String>().Utf8Value();
}

const Tensor& cpu_tensor_arg(const Napi::Value& v, const char* op, const char* name) {
  const Tensor& t = tensor_arg(v, op, name);
  if (t.device() != Device::CPU) throw ArgError(op, name, "a CPU tensor", "a cuda tensor");
  return t;
}

// counts: number[] or Int32Array of `size` non-negative integers.
std::vector<int64_t> counts_arg(const Napi::Value& v, int size, const char* op) {
  const std::string expected = "a number[] or Int32Array of " + to_string(size) + " non-negative integers (one per rank)";
  std::vector<int64_t> c;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    for (size_t i = 0; i < a.ElementLength(); ++i) c.push_back(a[i]);
  } else if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      if (!e.IsNumber()) throw ArgError(op, "counts", expected, "entry " + to_string(i) + " " + describe(e));
      const double d = e.As<Napi::Number>().DoubleValue();
      if (!(d >= 0) || d != std::floor(d) || d > static_cast<double>(kMaxElements))
        throw ArgError(op, "counts", expected, "entry " + to_string(i) + " " + number_str(d));
      c.push_back(static_cast<int64_t>(d));
    }
  } else {
    throw ArgError(op, "counts", expected, describe(v));
  }
  if (static_cast<int>(c.size()) != size) throw ArgError(op, "counts", expected, "length " + to_string(c.size()));
  int64_t sum = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] < 0) throw ArgError(op, "counts", expected, "entry " + to_string(i) + " " + to_string(c[i]));
    sum += c[i];
    if (sum > kMaxElements) throw ArgError(op, "counts", "counts summing to at most 2^40", "a larger sum");
  }
  return c;
}

int64_t sum_of(const std::vector<int64_t>& c) {
  int64_t s = 0;
  for (int64_t x : c) s += x;
  return s;
}

int64_t offset_of(const std::vector<int64_t>& c, int rank) {
  int64_t s = 0;
  for (int r = 0; r < rank; ++r) s += c[static_cast<size_t>(r)];
  return s;
}

bool same_memory(const Tensor& a, const Tensor& b) { return a.data() != nullptr && a.data() == b.data(); }

void require_numel(const Tensor& t, int64_t n, const char* op, const char* name, const std::string& why) {
  if (t.numel() != n)
    throw ArgError(op, name, "a tensor of " + to_string(n) + " elements (" + why + ")", describe_tensor(t));
}

}  // namespace

// The JS Communicator class (lib/parallel/comm.ts wraps it).
class CommunicatorObject : public Napi::ObjectWrap<CommunicatorObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeCommunicator",
                       {
                           InstanceAccessor<&CommunicatorObject::Rank>("rank"),
                           InstanceAccessor<&CommunicatorObject::Size>("size"),
                           InstanceAccessor<&CommunicatorObject::Job>("jobName"),
                           InstanceAccessor<&CommunicatorObject::Closed>("closed"),
                           InstanceAccessor<&CommunicatorObject::Geometry>("geometry"),
                           InstanceMethod<&CommunicatorObject::AllGather>("allGather"),
                           InstanceMethod<&CommunicatorObject::AllGatherV>("allGatherV"),
                           InstanceMethod<&CommunicatorObject::ReduceScatter>("reduceScatter"),
                           InstanceMethod<&CommunicatorObject::ReduceScatterV>("reduceScatterV"),
                           InstanceMethod<&CommunicatorObject::AllReduce>("allReduce"),
                           InstanceMethod<&CommunicatorObject::Broadcast>("broadcast"),
                           InstanceMethod<&CommunicatorObject::Barrier>("barrier"),
                           InstanceMethod<&CommunicatorObject::AllReduceNumbers>("allReduceNumbers"),
                           InstanceMethod<&CommunicatorObject::Bytes>("bytes"),
                           InstanceMethod<&CommunicatorObject::ResetBytes>("resetBytes"),
                           InstanceMethod<&CommunicatorObject::Abort>("abort"),
                           InstanceMethod<&CommunicatorObject::Close>("close"),
                           InstanceMethod<&CommunicatorObject::MarkExiting>("markExiting"),
                       });
  }

  // new NativeCommunicator(jobName, rank, size, options?)
  explicit CommunicatorObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CommunicatorObject>(info) {
    comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "Communicator";
      const std::string job = string_arg(info[0], op, "jobName", "a job name of 1 to 200 characters from [A-Za-z0-9._-]");
      bool ok = !job.empty() && job.size() <= 200;
      for (char ch : job) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.');
      if (!ok) throw ArgError(op, "jobName", "a job name of 1 to 200 characters from [A-Za-z0-9._-]", describe(info[0]));
      const int size = static_cast<int>(integer_arg(info[2], 1, comm::kMaxRanks, op, "size"));
      const int rank = static_cast<int>(integer_arg(info[1], 0, size - 1, op, "rank"));
      Napi::Object o = options_arg(info[3], op);
      comm::Options opt;
      auto seconds = [&](const char* key, double fallback) {
        const double s = number_option(o, key, fallback, op);
        if (!(s > 0) || s > 1e6) throw ArgError(op, "options", std::string(key) + " to be a number of seconds in (0, 1e6]", number_str(s));
        return s;
      };
      opt.connect_timeout_s = seconds("connectTimeout", opt.connect_timeout_s);
      opt.op_timeout_s = seconds("timeout", opt.op_timeout_s);
      opt.heartbeat_timeout_s = seconds("heartbeatTimeout", opt.heartbeat_timeout_s);
      opt.slot_bytes = static_cast<size_t>(integer_option(o, "slotBytes", static_cast<int64_t>(opt.slot_bytes), 4096, int64_t(64) << 20, op));
      opt.slots = static_cast<int>(integer_option(o, "slots", opt.slots, 2, comm::kMaxSlots, op));
      opt.spin = static_cast<int>(integer_option(o, "spin", opt.spin, 0, 1000000, op));
      opt.direct = bool_option(o, "direct", opt.direct, op);
      opt.direct_when_oversubscribed = bool_option(o, "directWhenOversubscribed", opt.direct_when_oversubscribed, op);
      opt.direct_min_bytes =
          static_cast<size_t>(integer_option(o, "directMinBytes", static_cast<int64_t>(opt.direct_min_bytes), 0, int64_t(1) << 50, op));
      comm_ = make_mpi_collectives(o, job, rank, size, opt, op);
      if (!comm_) comm_ = std::make_unique<comm::Communicator>(job, rank, size, opt);
      return info.Env().Undefined();
    });
  }

 private:
  comm::Collectives& live(const char* op) {
    if (!comm_ || comm_->closed()) throw RuntimeError(op, "ERR_MOONTRAIN_COMM_CLOSED", "the communicator is closed");
    return *comm_;
  }

  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), comm_ ? comm_->rank() : -1); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), comm_ ? comm_->size() : 0); }
  Napi::Value Job(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), comm_ ? comm_->job() : ""); }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !comm_ || comm_->closed()); }
  Napi::Value Geometry(const Napi::CallbackInfo& info) {
    Napi::Object g = Napi::Object::New(info.Env());
    const comm::Communicator* ring = comm_ ? comm_->as_ring() : nullptr;
    g.Set("slotBytes", Napi::Number::New(info.Env(), ring ? static_cast<double>(ring->slot_bytes()) : 0));
    g.Set("slots", Napi::Number::New(info.Env(), ring ? ring->slots() : 0));
    g.Set("direct", Napi::Boolean::New(info.Env(), ring && ring->direct_enabled()));
    add_mpi_geometry(info.Env(), g, comm_.get());
    return g;
  }

  // allGather(input, output?): output holds size * input.numel elements. Passing the same
  // tensor (size * n elements) as input and output is the in-place form: this rank's chunk is
  // already in place.
  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "allGather";
      comm::Collectives& c = live(op);
      const Tensor& in = cpu_tensor_arg(info[0], op, "input");
      const int N = c.size();
      if (!info[1].IsUndefined()) {
        const Tensor& out = cpu_tensor_arg(info[1], op, "output");
        require_same_dtype(out, in, op, "output", "input");
        int64_t n;
        if (same_memory(in, out)) {
          if (out.numel() % N != 0)
            throw ArgError(op, "output", "in place, a tensor whose element count is a multiple of the world size " + to_string(N),
                           describe_tensor(out));
          n = out.numel() / N;
        } else {
          n = in.numel();
          require_numel(out, n * N, op, "output", "world size " + to_string(N) + " x input's " + to_string(n));
        }
        const std::vector<int64_t> counts(static_cast<size_t>(N), n);
        const char* src = same_memory(in, out) ? static_cast<const char*>(out.data()) + static_cast<size_t>(n * c.rank()) * dtype_size(in.dtype)
                                               : static_cast<const char*>(in.data());
        c.all_gather_v(src, out.data(), in.dtype, counts);
        return info[1];
      }
      const int64_t n = in.numel();
      if (n > kMaxElements / N) throw ArgError(op, "input", "at most 2^40 / world size elements", describe_tensor(in));
      Tensor out = empty_tensor({n * N}, in.dtype);
      c.all_gather_v(in.data(), out.data(), in.dtype, std::vector<int64_t>(static_cast<size_t>(N), n));
      return TensorObject::Wrap(info.Env(), std::move(out));
    });
  }

  // allGatherV(input, counts, output?)
  Napi::Value AllGatherV(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "allGatherV";
      comm::Collectives& c = live(op);
      const Tensor& in = cpu_tensor_arg(info[0], op, "input");
      const std::vector<int64_t> counts = counts_arg(info[1], c.size(), op);
      const int64_t total = sum_of(counts), mine = counts[static_cast<size_t>(c.rank())];
      const size_t esz = dtype_size(in.dtype);
      if (!info[2].IsUndefined()) {
        const Tensor& out = cpu_tensor_arg(info[2], op, "output");
        require_same_dtype(out, in, op, "output", "input");
        require_numel(out, total, op, "output", "the sum of counts");
        const bool in_place = same_memory(in, out);
        if (!in_place) require_numel(in, mine, op, "input", "counts[" + to_string(c.rank()) + "]");
        const char* src = in_place ? static_cast<const char*>(out.data()) + static_cast<size_t>(offset_of(counts, c.rank())) * esz
                                   : static_cast<const char*>(in.data());
        c.all_gather_v(src, out.data(), in.dtype, counts);
        return info[2];
      }
      require_numel(in, mine, op, "input", "counts[" + to_string(c.rank()) + "]");
      Tensor out = empty_tensor({total}, in.dtype);
      c.all_gather_v(in.data(), out.data(), in.dtype, counts);
      return TensorObject::Wrap(info.Env(), std::move(out));
    });
  }

  // reduceScatter(input, output?): input holds size * n elements; output n. The same tensor as
  // input and output is the in-place form: the sum lands in this rank's chunk of it.
  Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "reduceScatter";
      comm::Collectives& c = live(op);
      const Tensor& in = cpu_tensor_arg(info[0], op, "input");
      const int N = c.size();
      if (in.numel() % N != 0)
        throw ArgError(op, "input",
                       "a tensor whose element count is a multiple of the world size " + to_string(N) + " (reduceScatterV takes any split)",
                       describe_tensor(in));
      const int64_t n = in.numel() / N;
      const std::vector<int64_t> counts(static_cast<size_t>(N), n);
      if (!info[1].IsUndefined()) {
        const Tensor& out = cpu_tensor_arg(info[1], op, "output");
        require_same_dtype(out, in, op, "output", "input");
        if (same_memory(in, out)) {
          char* dst = static_cast<char*>(out.data()) + static_cast<size_t>(n * c.rank()) * dtype_size(in.dtype);
          c.reduce_scatter_v(in.data(), dst, in.dtype, counts);
        } else {
          require_numel(out, n, op, "output", "input's elements / world size " + to_string(N));
          c.reduce_scatter_v(in.data(), out.data(), in.dtype, counts);
        }
        return info[1];
      }
      Tensor out = empty_tensor({n}, in.dtype);
      c.reduce_scatter_v(in.data(), out.data(), in.dtype, counts);
      return TensorObject::Wrap(info.Env(), std::move(out));
    });
  }

  // reduceScatterV(input, counts, output?)
  Napi::Value ReduceScatterV(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "reduceScatterV";
      comm::Collectives& c = live(op);
      const Tensor& in = cpu_tensor_arg(info[0], op, "input");
      const std::vector<int64_t> counts = counts_arg(info[1], c.size(), op);
      require_numel(in, sum_of(counts), op, "input", "the sum of counts");
      const int64_t mine = counts[static_cast<size_t>(c.rank())];
      if (!info[2].IsUndefined()) {
        const Tensor& out = cpu_tensor_arg(info[2], op, "output");
        require_same_dtype(out, in, op, "output", "input");
        if (same_memory(in, out)) {
          char* dst = static_cast<char*>(out.data()) + static_cast<size_t>(offset_of(counts, c.rank())) * dtype_size(in.dtype);
          c.reduce_scatter_v(in.data(), dst, in.dtype, counts);
        } else {
          require_numel(out, mine, op, "output", "counts[" + to_string(c.rank()) + "]");
          c.reduce_scatter_v(in.data(), out.data(), in.dtype, counts);
        }
        return info[2];
      }
      Tensor out = empty_tensor({mine}, in.dtype);
      c.reduce_scatter_v(in.data(), out.data(), in.dtype, counts);
      return TensorObject::Wrap(info.Env(), std::move(out));
    });
  }

  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "allReduce";
      comm::Collectives& c = live(op);
      const Tensor& t = cpu_tensor_arg(info[0], op, "t");
      c.all_reduce(t.data(), t.dtype, t.numel());
      return info[0];
    });
  }

  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "broadcast";
      comm::Collectives& c = live(op);
      const Tensor& t = cpu_tensor_arg(info[0], op, "t");
      const int root = static_cast<int>(integer_arg(info[1], 0, c.size() - 1, op, "root"));
      c.broadcast(t.data(), t.dtype, t.numel(), root);
      return info[0];
    });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      live("barrier").barrier();
      return info.Env().Undefined();
    });
  }

  // allReduceNumbers(values: Float64Array, op: 'sum' | 'max') -> a new Float64Array.
  Napi::Value AllReduceNumbers(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const char* op = "allReduceNumbers";
      comm::Collectives& c = live(op);
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
        throw ArgError(op, "values", "a Float64Array", describe(info[0]));
      const std::string how = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
      if (how != "sum" && how != "max") throw ArgError(op, "op", "'sum' or 'max'", describe(info[1]));
      Napi::Float64Array in = info[0].As<Napi::Float64Array>();
      const size_t n = in.ElementLength();
      if (n > (size_t(1) << 24)) throw ArgError(op, "values", "at most 2^24 numbers (use allReduce for tensors)", "length " + to_string(n));
      Napi::Float64Array out = Napi::Float64Array::New(info.Env(), n);
      if (n) std::memcpy(out.Data(), in.Data(), n * sizeof(double));
      c.all_reduce_numbers(out.Data(), static_cast<int64_t>(n), how == "sum" ? comm::NumbersOp::Sum : comm::NumbersOp::Max);
      return out;
    });
  }

  Napi::Value Bytes(const Napi::CallbackInfo& info) {
    const comm::ByteCounters b = comm_ ? comm_->bytes() : comm::ByteCounters{};
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("allGather", Napi::Number::New(info.Env(), static_cast<double>(b.all_gather)));
    o.Set("reduceScatter", Napi::Number::New(info.Env(), static_cast<double>(b.reduce_scatter)));
    o.Set("allReduce", Napi::Number::New(info.Env(), static_cast<double>(b.all_reduce)));
    o.Set("broadcast", Napi::Number::New(info.Env(), static_cast<double>(b.broadcast)));
    return o;
  }

  Napi::Value ResetBytes(const Napi::CallbackInfo& info) {
    if (comm_) comm_->reset_bytes();
    return info.Env().Undefined();
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    return comm_guarded(info, [&]() -> Napi::Value {
      const std::string reason = info[0].IsUndefined() ? std::string("abort() called")
                                                       : string_arg(info[0], "abort", "reason", "a string or undefined");
      if (comm_) comm_->abort(reason);
      return info.Env().Undefined();
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (comm_) comm_->close();
    return info.Env().Undefined();
  }

  Napi::Value MarkExiting(const Napi::CallbackInfo& info) {
    if (comm_ && info[0].IsNumber()) comm_->mark_exiting(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  std::unique_ptr<comm::Collectives> comm_;
};

namespace {

Napi::Value CleanupStale(const Napi::CallbackInfo& info) {
  return comm_guarded(info, [&]() -> Napi::Value {
    const std::string job = string_arg(info[0], "cleanupStale", "jobName", "a job name");
    return Napi::Boolean::New(info.Env(), comm::cleanup_stale(job));
  });
}

Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info) {
  return comm_guarded(info, [&]() -> Napi::Value {
    comm::set_parent_death_signal(static_cast<int>(integer_arg(info[0], 1, 64, "setParentDeathSignal", "signal")));
    return info.Env().Undefined();
  });
}

// For the collectives benchmark: a plain memcpy between two tensors of the same byte size.
Napi::Value CopyBytes(const Napi::CallbackInfo& info) {
  return comm_guarded(info, [&]() -> Napi::Value {
    const char* op = "commCopyBytes";
    const Tensor& dst = cpu_tensor_arg(info[0], op, "dst");
    const Tensor& src = cpu_tensor_arg(info[1], op, "src");
    if (dst.nbytes() != src.nbytes()) throw ArgError(op, "src", to_string(dst.nbytes()) + " bytes (as dst)", to_string(src.nbytes()) + " bytes");
    if (!same_memory(dst, src) && dst.nbytes()) std::memcpy(dst.data(), src.data(), dst.nbytes());
    return info.Env().Undefined();
  });
}

}  // namespace

void RegisterComm(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeCommunicator", CommunicatorObject::Define(env));
  exports.Set("commCleanupStale", Napi::Function::New<CleanupStale>(env, "commCleanupStale"));
  exports.Set("commSetParentDeathSignal", Napi::Function::New<SetParentDeathSignal>(env, "commSetParentDeathSignal"));
  exports.Set("commCopyBytes", Napi::Function::New<CopyBytes>(env, "commCopyBytes"));
  RegisterMpi(env, exports);
}

}  // namespace mt::napi
