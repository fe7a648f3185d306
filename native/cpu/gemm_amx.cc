// bf16 microkernel on AMX tiles: a 32 x 32 block in four fp32 tile accumulators, fed by two A
// tiles (16 rows x 32 k) and two B tiles in VNNI order (16 k-pairs x 16 columns x 2), one
// TDPBF16PS each per 32-wide step of k. Built with AMX flags; only called when the OS granted
// tile state (isa_active() == amx).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "microkernel.h"

namespace mt::cpu {

namespace isa_amx {
namespace {

constexpr int kMr = 32, kNr = 32, kKu = 32;

struct alignas(64) TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tile configuration is per thread; every tile here is 16 rows of 64 bytes.
void ensure_tile_config() {
  thread_local bool configured = false;
  if (configured) return;
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  _tile_loadconfig(&cfg);
  configured = true;
}

void compute(int64_t kc, const void* a_, const void* b_, float* acc, int64_t ldacc, bool accumulate) {
  ensure_tile_config();
  const char* a = static_cast<const char*>(a_);
  const char* b = static_cast<const char*>(b_);
  const int64_t stride = ldacc * 4;
  float* c01 = acc + 16 * ldacc;
  if (accumulate) {
    _tile_loadd(0, acc, stride);
    _tile_loadd(1, acc + 16, stride);
    _tile_loadd(2, c01, stride);
    _tile_loadd(3, c01 + 16, stride);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int64_t k = 0; k < kc; k += kKu) {
    const int64_t off = k * 64;  // 32 rows (or 2 tiles of 16 k-pairs) x 32 bf16 per step
    _tile_loadd(4, a + off, 64);
    _tile_loadd(5, a + off + 1024, 64);
    _tile_loadd(6, b + off, 64);
    _tile_loadd(7, b + off + 1024, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, acc, stride);
  _tile_stored(1, acc + 16, stride);
  _tile_stored(2, c01, stride);
  _tile_stored(3, c01 + 16, stride);
}

// A panel: per 32-wide step of k, 32 rows of 32 consecutive k.
void pack_a(const MatRef& a, int64_t i0, int64_t rows, int64_t K, int64_t kp, void* dst_) {
  bf16_t* dst = static_cast<bf16_t*>(dst_);
  const bf16_t* src = static_cast<const bf16_t*>(a.data);
  std::memset(dst, 0, sizeof(bf16_t) * kMr * kp);
  if (!a.trans) {
    for (int64_t r = 0; r < rows; ++r) {
      const bf16_t* row = src + (i0 + r) * a.ld;
      for (int64_t k0 = 0; k0 < K; k0 += kKu)
        std::memcpy(dst + (k0 / kKu * kMr + r) * kKu + 0, row + k0, sizeof(bf16_t) * std::min<int64_t>(kKu, K - k0));
    }
  } else {
    for (int64_t k = 0; k < K; ++k) {
      const bf16_t* col = src + k * a.ld + i0;
      bf16_t* out = dst + (k / kKu * kMr) * kKu + k % kKu;
      for (int64_t r = 0; r < rows; ++r) out[r * kKu] = col[r];
    }
  }
}

// B panel: per 32-wide step of k, two tiles (columns 0-15, 16-31) of 16 k-pairs x 16 columns x 2.
void pack_b(const MatRef& b, int64_t j0, int64_t cols, int64_t K, int64_t kp, void* dst_) {
  bf16_t* dst = static_cast<bf16_t*>(dst_);
  const bf16_t* src = static_cast<const bf16_t*>(b.data);
  std::memset(dst, 0, sizeof(bf16_t) * kNr * kp);
  auto slot = [&](int64_t k, int64_t c) {
    return dst + (k / kKu) * (kKu * kNr) + (c / 16) * 512 + ((k % kKu) / 2) * 32 + (c % 16) * 2 + (k & 1);
  };
  if (!b.trans) {  // op(B)(k, j) = B[k][j]: rows contiguous in j
    for (int64_t k = 0; k < K; ++k) {
      const bf16_t* row = src + k * b.ld + j0;
      for (int64_t c = 0; c < cols; ++c) *slot(k, c) = row[c];
    }
  } else {  // op(B)(k, j) = B[j][k]: rows contiguous in k
    for (int64_t c = 0; c < cols; ++c) {
      const bf16_t* row = src + (j0 + c) * b.ld;
      for (int64_t k = 0; k < K; ++k) *slot(k, c) = row[k];
    }
  }
}

}  // namespace
}  // namespace isa_amx

const Microkernel& microkernel_amx_bf16() {
  static const Microkernel k{"amx-bf16-32x32", isa_amx::kMr, isa_amx::kNr, isa_amx::kKu, DType::BF16, 128, 256, 512, isa_amx::pack_a, isa_amx::pack_b, isa_amx::compute};
  return k;
}

}  // namespace mt::cpu
