// Bench-only anchors (bench_anchors.node): OpenBLAS cblas_sgemm / cblas_ssyrk, loaded with dlopen at run time so the
// product never links it. Used side by side with moontrain's kernels in bench/.
#include <dlfcn.h>
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

enum { RowMajor = 101, NoTrans = 111, Trans = 112, Upper = 121 };
using sgemm_t = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using ssyrk_t = void (*)(int, int, int, int, int, float, const float*, int, float, float*, int);
using set_threads_t = void (*)(int);
using get_config_t = char* (*)();

struct Blas {
  void* handle = nullptr;
  sgemm_t sgemm = nullptr;
  ssyrk_t ssyrk = nullptr;
  set_threads_t set_threads = nullptr;
  get_config_t get_config = nullptr;
  std::string error;
};

Blas& blas() {
  static Blas b = [] {
    Blas r;
    for (const char* name : {"libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so"}) {
      r.handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (r.handle) break;
    }
    if (!r.handle) {
      r.error = "libopenblas.so.0 not found (Debian: apt-get install libopenblas-dev)";
      return r;
    }
    r.sgemm = reinterpret_cast<sgemm_t>(dlsym(r.handle, "cblas_sgemm"));
    r.ssyrk = reinterpret_cast<ssyrk_t>(dlsym(r.handle, "cblas_ssyrk"));
    r.set_threads = reinterpret_cast<set_threads_t>(dlsym(r.handle, "openblas_set_num_threads"));
    r.get_config = reinterpret_cast<get_config_t>(dlsym(r.handle, "openblas_get_config"));
    if (!r.sgemm || !r.ssyrk) r.error = "OpenBLAS lacks cblas_sgemm/cblas_ssyrk";
    return r;
  }();
  return b;
}

void require(const Napi::Env& env) {
  if (!blas().error.empty()) throw Napi::Error::New(env, "openblas anchor: " + blas().error);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("available", blas().error.empty());
  if (!blas().error.empty()) o.Set("error", blas().error);
  if (blas().get_config) o.Set("config", std::string(blas().get_config()));
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  require(info.Env());
  if (blas().set_threads) blas().set_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// sgemm(m, n, k, a, b, c, transA, transB): c = op(a)·op(b), row-major.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  require(info.Env());
  const int m = info[0].As<Napi::Number>().Int32Value(), n = info[1].As<Napi::Number>().Int32Value(),
            k = info[2].As<Napi::Number>().Int32Value();
  const float* a = info[3].As<Napi::Float32Array>().Data();
  const float* b = info[4].As<Napi::Float32Array>().Data();
  float* c = info[5].As<Napi::Float32Array>().Data();
  const bool ta = info[6].ToBoolean(), tb = info[7].ToBoolean();
  blas().sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1.f, a, ta ? m : k, b, tb ? k : n, 0.f, c, n);
  return info.Env().Undefined();
}

// newtonSchulz(x, m, n, steps): fp32 Newton–Schulz as numpy runs it (X·Xᵀ through ssyrk).
Napi::Value NewtonSchulz(const Napi::CallbackInfo& info) {
  require(info.Env());
  Napi::Float32Array xa = info[0].As<Napi::Float32Array>();
  const int m = info[1].As<Napi::Number>().Int32Value(), n = info[2].As<Napi::Number>().Int32Value();
  const int steps = info[3].As<Napi::Number>().Int32Value();
  const bool tr = m > n;
  const int r = tr ? n : m, c = tr ? m : n;
  std::vector<float> x(static_cast<size_t>(r) * c), xn(x.size()), a(static_cast<size_t>(r) * r), b(a.size());
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += double(xa[i]) * xa[i];
  const float s = static_cast<float>(1.0 / (std::sqrt(sum) + 1e-7));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) x[tr ? size_t(j) * c + i : size_t(i) * c + j] = xa[size_t(i) * n + j] * s;
  const float ca = 3.4445f, cb = -4.7750f, cc = 2.0315f;
  for (int it = 0; it < steps; ++it) {
    blas().ssyrk(RowMajor, Upper, NoTrans, r, c, 1.f, x.data(), c, 0.f, a.data(), r);
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < i; ++j) a[size_t(i) * r + j] = a[size_t(j) * r + i];
    b = a;
    blas().sgemm(RowMajor, NoTrans, NoTrans, r, r, r, cc, a.data(), r, a.data(), r, cb, b.data(), r);
    xn = x;
    blas().sgemm(RowMajor, NoTrans, NoTrans, r, c, r, 1.f, b.data(), r, x.data(), c, ca, xn.data(), c);
    x.swap(xn);
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) xa[size_t(i) * n + j] = x[tr ? size_t(j) * c + i : size_t(i) * c + j];
  return info.Env().Undefined();
}

}  // namespace

void RegisterPeak(Napi::Env env, Napi::Object exports);

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterPeak(env, exports);
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("newtonSchulz", Napi::Function::New(env, NewtonSchulz));
  return exports;
}

}  // namespace

NODE_API_MODULE(bench_anchors, Init)
