// Muon's orthogonalisation (NS5) on the GPU, batched over same-shape matrices, as the CPU op
// (native/cpu/newton_schulz.cc): per matrix, transpose when rows > cols (working shape r x c,
// r <= c), X ← X / (‖X‖_F + eps) with the norm summed in double, then per step (a, b, c)
//   A = X·Xᵀ (symmetric),  B = c·A·A + b·A (symmetric; A·A taken as A·Aᵀ),  X ← B·X + a·X,
// and transpose back. X, A and B are stored in the input's dtype between products (f32
// accumulation). Every launch covers the whole batch; the host never waits for the device.
#pragma once

#include <array>

#include "elementwise.cuh"
#include "gemm_batched.cuh"

namespace mt::kern {

// Grid layer q sums the squares of matrix q (n elements) in chunks of SumSquares::kChunk into
// partial[q * chunks + chunk] (sum_squares_partial_body, chunk = block x).
template <class T>
struct NsNormArgs {
  const T* x = nullptr;
  int64_t n = 0, chunks = 0;
  double* partial = nullptr;
};
template <class T>
MT_DEVICE void ns_norm_partial_body(const NsNormArgs<T>& a) {
  const int64_t q = dev::block_idx().z;
  sum_squares_partial_body(a.x + q * a.n, a.n, a.partial + q * a.chunks);
}

// Block q: scale[q] = 1 / (sqrt(sum of matrix q's partials) + eps), 0 when that is 0, as float.
struct NsScaleArgs {
  const double* partial = nullptr;
  int64_t chunks = 0;
  double eps = 0;
  float* scale = nullptr;
};
MT_DEVICE void ns_scale_body(const NsScaleArgs& a) {
  const int64_t q = dev::block_idx().x;
  double s = 0;
  for (int64_t i = dev::thread_rank(); i < a.chunks; i += SumSquares::kThreads) s += a.partial[q * a.chunks + i];
  s = block_reduce<SumSquares::kThreads>(dev::shared_at<double>(0), s, SumOp{});
  if (dev::thread_rank() == 0) {
    const double denom = sqrt(s) + a.eps;
    a.scale[q] = denom > 0 ? float(1.0 / denom) : 0.f;
  }
}

// dst[q] = scale[q] · src[q] (scale null: 1), each matrix rows x cols, stored transposed when
// `transpose`; a grid-stride loop over the whole batch.
template <class T>
struct NsCopyArgs {
  const T* src = nullptr;
  T* dst = nullptr;
  int64_t batch = 0, rows = 0, cols = 0;
  const float* scale = nullptr;
  bool transpose = false;
};
template <class T>
MT_DEVICE void ns_copy_body(const NsCopyArgs<T>& a) {
  const int64_t per = a.rows * a.cols, n = a.batch * per;
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t q = i / per, e = i - q * per, r = e / a.cols, c = e - r * a.cols;
    const float v = to_f32(a.src[i]) * (a.scale ? a.scale[q] : 1.f);
    a.dst[q * per + (a.transpose ? c * a.rows + r : e)] = from_f32<T>(v);
  }
}

// The launches of one Newton–Schulz call, in order, through `ops` (the CUDA launches of
// native/cuda/newton_schulz.cu, or the emulator's in the tests):
//   ops.norm(grid, block, smem, NsNormArgs<T>), ops.scale(grid, block, smem, NsScaleArgs),
//   ops.copy(grid, block, NsCopyArgs<T>), ops.gemm(BatchedGemmArgs<T>, batch, sym) (batched_gemm_dispatch).
// Work memory (device): x0 and, when transposing, x1 (batch x r x c each; without transposing
// `out` serves as the other buffer so the last step lands there), a and b (batch x r x r),
// partial (batch x SumSquares::blocks(m n) doubles), scale (batch floats).
template <class T>
struct NsBuffers {
  T *x0, *x1, *a, *b;
  double* partial;
  float* scale;
};

inline int64_t ns_chunks(int64_t m, int64_t n) { return int64_t(SumSquares::blocks(m * n)); }

template <class T, class Ops>
void newton_schulz_launches(const T* in, T* out, int64_t batch, int64_t m, int64_t n, float eps, const std::array<float, 3>* coefficients,
                            int64_t steps, const NsBuffers<T>& w, Ops&& ops) {
  const bool transpose = m > n;
  const int64_t r = transpose ? n : m, c = transpose ? m : n, chunks = ns_chunks(m, n);
  // The iterate after step s lives in xs[s % 2]; without a final transpose the last one is `out`.
  T* xs[2] = {w.x0, w.x1};
  if (!transpose) xs[steps % 2] = out, xs[(steps + 1) % 2] = w.x0;

  for (int64_t q0 = 0; q0 < batch; q0 += kMaxGridZ) {
    NsNormArgs<T> na;
    na.x = in + q0 * m * n, na.n = m * n, na.chunks = chunks, na.partial = w.partial + q0 * chunks;
    const unsigned layers = unsigned(batch - q0 < kMaxGridZ ? batch - q0 : kMaxGridZ);
    ops.norm(dev::Dim3{unsigned(chunks), 1, layers}, dev::Dim3{SumSquares::kThreads, 1, 1}, SumSquares::kSmemBytes, na);
  }
  NsScaleArgs sa;
  sa.partial = w.partial, sa.chunks = chunks, sa.eps = double(eps), sa.scale = w.scale;
  ops.scale(dev::Dim3{unsigned(batch), 1, 1}, dev::Dim3{SumSquares::kThreads, 1, 1}, SumSquares::kSmemBytes, sa);
  NsCopyArgs<T> load;
  load.src = in, load.dst = xs[0], load.batch = batch, load.rows = m, load.cols = n, load.scale = w.scale, load.transpose = transpose;
  ops.copy(Elementwise::grid(batch * m * n), Elementwise::block(), load);

  const auto gemm = [&](bool sym, const BatchedGemmArgs<T>& a) { ops.gemm(a, batch, sym); };
  for (int64_t s = 0; s < steps; ++s) {
    const auto [ca, cb, cc] = coefficients[s];
    T *x = xs[s % 2], *x_next = xs[(s + 1) % 2];
    BatchedGemmArgs<T> gram;  // A = X·Xᵀ
    gram.g.M = int(r), gram.g.N = int(r), gram.g.K = int(c);
    gram.g.A = x, gram.g.lda = int(c), gram.g.B = x, gram.g.ldb = int(c), gram.g.C = w.a, gram.g.ldc = int(r);
    gram.stride_a = gram.stride_b = r * c, gram.stride_c = r * r;
    gemm(true, gram);
    BatchedGemmArgs<T> poly;  // B = c·A·Aᵀ + b·A
    poly.g.M = int(r), poly.g.N = int(r), poly.g.K = int(r);
    poly.g.A = w.a, poly.g.lda = int(r), poly.g.B = w.a, poly.g.ldb = int(r), poly.g.C = w.b, poly.g.ldc = int(r);
    poly.g.D = w.a, poly.g.ldd = int(r), poly.g.alpha = cc, poly.g.beta = cb;
    poly.stride_a = poly.stride_b = poly.stride_c = poly.stride_d = r * r;
    gemm(true, poly);
    BatchedGemmArgs<T> update;  // X' = B·X + a·X
    update.g.M = int(r), update.g.N = int(c), update.g.K = int(r);
    update.g.A = w.b, update.g.lda = int(r), update.g.B = x, update.g.ldb = int(c), update.g.C = x_next, update.g.ldc = int(c);
    update.g.D = x, update.g.ldd = int(c), update.g.alpha = 1.f, update.g.beta = ca;
    update.stride_a = r * r, update.stride_b = update.stride_c = update.stride_d = r * c;
    gemm(false, update);
  }
  if (transpose) {
    NsCopyArgs<T> store;
    store.src = xs[steps % 2], store.dst = out, store.batch = batch, store.rows = r, store.cols = c, store.transpose = true;
    ops.copy(Elementwise::grid(batch * m * n), Elementwise::block(), store);
  }
}

}  // namespace mt::kern
