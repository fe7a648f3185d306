// info(), thread and ISA controls, debug switches.
#include "../core/error.h"
#include "../core/isa.h"
#include "../core/tensor.h"
#include "../core/thread_pool.h"
#include "../cuda_status.h"
#include "../op_table.h"
#include "args.h"
#include "errors.h"
#include "register.h"
#include "tensor_object.h"

namespace mt::napi {

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  r.Set("isa", isa_name(isa_active()));
  Napi::Array avail = Napi::Array::New(env);
  for (const std::string& s : isa_available_names()) avail.Set(avail.Length(), s);
  r.Set("isaAvailable", avail);
  r.Set("threads", num_threads());
  const CudaStatus c = cuda_status();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", c.compiled);
  cuda.Set("available", c.available);
  if (!c.available) cuda.Set("reason", c.reason);
  cuda.Set("runtimeVersion", c.runtime_version);
  cuda.Set("driverVersion", c.driver_version);
  Napi::Array devs = Napi::Array::New(env);
  for (const CudaDevice& d : c.devices) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", d.name);
    o.Set("memoryBytes", static_cast<double>(d.memory_bytes));
    o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    devs.Set(devs.Length(), o);
  }
  cuda.Set("devices", devs);
  r.Set("cuda", cuda);
  return r;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Value v = info[0];
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 1 && d <= 1024) || d != static_cast<int>(d))
      throw ArgError("setNumThreads", "n", "an integer from 1 to 1024", describe(v));
    set_num_threads(static_cast<int>(d));
    return info.Env().Undefined();
  });
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Isa isa;
    if (!info[0].IsString() || !parse_isa(info[0].As<Napi::String>().Utf8Value(), &isa))
      throw ArgError("setIsa", "isa", "one of 'amx', 'avx512bf16', 'avx512', 'avx2', 'scalar'", describe(info[0]));
    set_isa(isa);
    return Napi::String::New(info.Env(), isa_name(isa_active()));
  });
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  const LiveStorage l = live_storage();
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("count", static_cast<double>(l.count));
  r.Set("bytes", static_cast<double>(l.bytes));
  return r;
}

// Internal (lib/runtime.ts untrackedMemory): whether new tensors report their bytes to V8; returns
// the previous setting. With no argument it changes nothing and returns the bytes reported now.
Napi::Value ReportExternalMemory(const Napi::CallbackInfo& info) {
  AddonData* data = info.Env().GetInstanceData<AddonData>();
  if (info.Length() == 0) return Napi::Number::New(info.Env(), static_cast<double>(data->reported_external_bytes));
  const bool previous = data->report_external_memory;
  data->report_external_memory = info[0].ToBoolean().Value();
  return Napi::Boolean::New(info.Env(), previous);
}

Napi::Value PoisonAllocations(const Napi::CallbackInfo& info) {
  set_poison_allocations(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New<Info>(env, "info"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("setIsa", Napi::Function::New<SetIsa>(env, "setIsa"));
  exports.Set("liveTensors", Napi::Function::New<LiveTensors>(env, "liveTensors"));
  exports.Set("poisonAllocations", Napi::Function::New<PoisonAllocations>(env, "poisonAllocations"));
  exports.Set("reportExternalMemory", Napi::Function::New<ReportExternalMemory>(env, "reportExternalMemory"));
}

}  // namespace mt::napi
