// Packing into f32 panels, from f32 or bf16 sources, either orientation.
#include <cstring>

#include "microkernel.h"

namespace mt::cpu {

namespace {

// Copies element (r, k) of a [rows x K] view (stride rs between r, ks between k) into
// dst[k * width + r], zero-padding r to width and k to kp.
template <typename T, typename Convert>
void pack_panel(const T* src, int64_t rs, int64_t ks, int64_t rows, int64_t K, int64_t kp, int width, float* dst,
                Convert convert) {
  if (ks == 1) {
    // Rows are contiguous in k: walk each row once.
    for (int64_t k = K; k < kp; ++k) std::memset(dst + k * width, 0, sizeof(float) * width);
    for (int64_t r = 0; r < width; ++r) {
      if (r >= rows) {
        for (int64_t k = 0; k < K; ++k) dst[k * width + r] = 0.f;
        continue;
      }
      const T* row = src + r * rs;
      for (int64_t k = 0; k < K; ++k) dst[k * width + r] = convert(row[k]);
    }
    return;
  }
  for (int64_t k = 0; k < kp; ++k) {
    float* out = dst + k * width;
    if (k >= K) {
      std::memset(out, 0, sizeof(float) * width);
      continue;
    }
    const T* col = src + k * ks;
    int64_t r = 0;
    if (rs == 1) {
      for (; r < rows; ++r) out[r] = convert(col[r]);  // contiguous: vectorizes
    }
    for (; r < rows; ++r) out[r] = convert(col[r * rs]);
    for (; r < width; ++r) out[r] = 0.f;
  }
}

// Packs a [rows x K] slice of op(X), where the slice starts at op-row `first`.
void pack_slice(const MatRef& x, int64_t first, int64_t rows, int64_t K, int64_t kp, int width, float* dst) {
  // op(X)[r][k] is X[r][k] (stride ld, 1) or, transposed, X[k][r] (stride 1, ld).
  const int64_t rs = x.trans ? 1 : x.ld;
  const int64_t ks = x.trans ? x.ld : 1;
  const int64_t offset = first * rs;
  if (x.dtype == DType::F32) {
    pack_panel(static_cast<const float*>(x.data) + offset, rs, ks, rows, K, kp, width, dst, [](float v) { return v; });
  } else {
    pack_panel(static_cast<const bf16_t*>(x.data) + offset, rs, ks, rows, K, kp, width, dst,
               [](bf16_t v) { return bf16_to_f32(v); });
  }
}

}  // namespace

void pack_a_f32(const MatRef& a, int64_t i0, int64_t rows, int64_t K, int64_t kp, int mr, float* dst) {
  pack_slice(a, i0, rows, K, kp, mr, dst);
}

// op(B) columns are rows of op(B)ᵀ, which is B with the transpose flag flipped.
void pack_b_f32(const MatRef& b, int64_t j0, int64_t cols, int64_t K, int64_t kp, int nr, float* dst) {
  MatRef bt = b;
  bt.trans = !b.trans;
  pack_slice(bt, j0, cols, K, kp, nr, dst);
}

}  // namespace mt::cpu
