// Arguments and launch geometry shared by the GEMM kernels: C = op(A) * op(B) (+ D), row-major,
// op(X) = X or X transposed. D may be C itself (C += A * B).
#pragma once

#include <type_traits>

#include "../device/device.cuh"

namespace mt::kern {

template <class T>
struct GemmArgs {
  int M = 0, N = 0, K = 0;
  const T* A = nullptr;  // M x K, or K x M when A is transposed; row stride lda
  int lda = 0;
  const T* B = nullptr;  // K x N, or N x K when B is transposed; row stride ldb
  int ldb = 0;
  T* C = nullptr;  // M x N, row stride ldc
  int ldc = 0;
  const T* D = nullptr;  // optional addend, M x N, row stride ldd (may alias C)
  int ldd = 0;
};

// Bugs planted on purpose in the kernels' emulator tests, to show those tests fail on them; the
// library only instantiates Plant::None.
enum class Plant { None, FragmentIndex, MissingBarrier, TileEdge };

// Calls f(bool_constant<a>, bool_constant<b>, bool_constant<c>): one instantiation per case.
template <class F>
void with_flags(bool a, bool b, bool c, F&& f) {
  using T = std::true_type;
  using N = std::false_type;
  if (a) {
    if (b) c ? f(T{}, T{}, T{}) : f(T{}, T{}, N{});
    else c ? f(T{}, N{}, T{}) : f(T{}, N{}, N{});
  } else {
    if (b) c ? f(N{}, T{}, T{}) : f(N{}, T{}, N{});
    else c ? f(N{}, N{}, T{}) : f(N{}, N{}, N{});
  }
}

MT_HD constexpr unsigned ceil_div(int a, int b) { return unsigned((a + b - 1) / b); }

}  // namespace mt::kern
