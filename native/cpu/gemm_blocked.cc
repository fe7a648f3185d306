// The blocked GEMM driver: pack every operand once, then compute output tiles in parallel.
//
// Phase 1 packs op(A) of each problem into mr-row panels and op(B) into nr-column panels
// (parallel over panels; either may instead be packed by the tiles that use it, see
// choose_tiles and a_in_tile). Phase 2 cuts each C into tiles of at most mc x nc, sorts all tiles of
// all problems by cost (largest first, so skewed expert sizes still balance) and hands them out
// dynamically. A tile is computed by one thread over the whole K, so results never depend on
// the thread count.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../core/thread_pool.h"
#include "microkernel.h"

namespace mt::cpu {

namespace {

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

const Microkernel& select_kernel(DType dtype, Isa isa) {
  if (isa == Isa::Amx && dtype == DType::BF16) return microkernel_amx_bf16();
  if (isa >= Isa::Avx512Bf16 && dtype == DType::BF16) return microkernel_avx512_bf16();
  if (isa >= Isa::Avx512) return microkernel_avx512_f32();
  return microkernel_avx2_f32();
}

struct Packed {
  const GemmProblem* p;
  const Microkernel* k;
  int64_t kp;                // padded K
  int64_t a_panels, b_panels;
  char* a;                   // a_panels * mr * kp elements (only the last, partial one when a_unpacked)
  bool a_unpacked;           // the microkernel reads full panels of A in place (see can_read_a_in_place)
  char* b;                   // b_panels * nr * kp elements (null when b_in_tile)
  bool b_in_tile;            // each tile packs its own columns of B (see choose_b_packing)
  bool mirror_in_tile;       // symmetric, one tile: mirrored by that tile (see choose_tiles)
  int64_t mc, nc;            // tile sizes for this problem
};

struct Tile {
  int32_t problem;
  int64_t i0, j0, rows, cols;
  double cost;
};

// Tiles small enough that every thread gets work even on tall-skinny or small problems.
//
// In a batch of several problems (experts), a tile covers a block of columns for up to
// kRowsPerBTile rows and packs those columns of B itself: each weight is then read once from
// memory and used from cache, instead of being written packed and read back, which is what
// makes a grouped GEMM slower than a dense one of the same rows.
constexpr int64_t kRowsPerBTile = 2048;

constexpr int64_t kWholeSymmetricRows = 256;

void choose_tiles(Packed& q, int threads, int64_t batch) {
  const Microkernel& k = *q.k;
  const bool batched = batch > 1;
  // Small symmetric outputs in a batch large enough to balance on its own (Newton-Schulz on an
  // expert stack: 32 of 192 x 192) are one tile each, which packs its B and mirrors its output
  // while they are in its cache; mirrored after the whole batch they came back from memory (that
  // Newton-Schulz: +5-6%, packing B in the tile +2-6% more).
  q.mirror_in_tile = q.p->symmetric && batch >= 2 * threads && q.p->M <= kWholeSymmetricRows;
  if (q.mirror_in_tile) {
    q.b_in_tile = true;
    q.mc = round_up(q.p->M, k.mr);
    q.nc = round_up(q.p->N, k.nr);
    return;
  }
  q.b_in_tile = batched && !q.p->symmetric;
  if (q.b_in_tile) {
    const int64_t blocks = ceil_div(q.p->M, kRowsPerBTile);
    q.mc = round_up(ceil_div(q.p->M, blocks), k.mc);
    // All columns in one tile when they are few (an expert's 384), so no operand is packed twice.
    q.nc = q.p->N <= 2 * k.nc ? round_up(q.p->N, k.nr) : k.nc;
    return;
  }
  q.mc = k.mc;
  const int64_t M = q.p->M, N = q.p->N;
  // Near-square tiles for a symmetric output, so few computed tiles straddle the diagonal.
  q.nc = q.p->symmetric ? std::min<int64_t>(k.nc, round_up(k.mc, k.nr)) : k.nc;
  // A few columns more than nc: one column block when the rows alone give every thread plenty
  // of tiles, so A's packed panels are read once (LM-head weight gradient 8192x384x2048: +7%).
  if (!q.p->symmetric && N <= 2 * k.nc && ceil_div(M, q.mc) >= 8 * threads) q.nc = round_up(N, k.nr);
  // An A that must be packed (a weight gradient's dYᵀ) with few columns: row tiles over all of
  // them, as many as balance the threads, so each packs its rows of A once, in cache.
  if (!q.p->symmetric && !q.a_unpacked && N <= 2 * k.nc) {
    q.nc = round_up(N, k.nr);
    const int64_t tiles = std::max<int64_t>(2 * threads, ceil_div(M, k.mc));
    q.mc = std::max<int64_t>(k.mr, round_up(ceil_div(M, tiles), k.mr));
  }
  auto count = [&] { return ceil_div(M, q.mc) * ceil_div(N, q.nc); };
  while (count() < 2 * threads && (q.mc > k.mr || q.nc > k.nr)) {
    if (q.nc > k.nr && (N >= M || q.mc == k.mr)) q.nc = std::max<int64_t>(k.nr, round_up(q.nc / 2, k.nr));
    else q.mc = std::max<int64_t>(k.mr, round_up(q.mc / 2, k.mr));
  }
}

// Packing A is pure overhead when its rows already hold k contiguously in the packed type, as
// activations do: every GEMM with few output columns (an expert's 192) would spend a tenth of
// its time on it. The bf16 pairs must be whole words, so K, the row stride and the base are even.
bool can_read_a_in_place(const GemmProblem& p, const Microkernel& k) {
  const int64_t word = k.ku * static_cast<int64_t>(dtype_size(k.packed));
  return k.compute_block && !p.A.trans && p.A.dtype == k.packed && p.K % k.ku == 0 && p.A.ld % k.ku == 0 &&
         reinterpret_cast<uintptr_t>(p.A.data) % word == 0;
}

// The A panels that are packed: all of them, or only a last partial one.
int64_t a_pack_first(const Packed& q) { return q.a_unpacked ? q.p->M / q.k->mr : 0; }

// An A that must be packed (transposed, as in every weight gradient dW = dYᵀ·X) is packed by the
// tile that uses it into a buffer that stays in cache, when a row chunk meets all the columns in
// one tile: packed once for all up front it goes out to memory and comes back (measured: grouped
// weight gradients +2-16%, LM-head weight gradient +12%). With several column tiles per row it
// is packed once up front, not once per tile (measured: 384x384x2048 -4.5% when per tile).
bool a_in_tile(const Packed& q) { return q.nc >= q.p->N; }

constexpr int64_t kDirectOutputBytes = 8 << 20;

float* tile_accumulator(size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}

char* tile_a_panels(size_t bytes) {
  thread_local std::vector<char> buf;
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  return reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(buf.data()), 64));
}

char* batch_workspace(int64_t bytes) {
  thread_local std::vector<char> buf;
  if (static_cast<int64_t>(buf.size()) < bytes + 64) buf.resize(static_cast<size_t>(bytes + 64));
  return reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(buf.data()), 64));
}

// op(X) restricted to k >= k0: A's k runs along its columns (rows when transposed), B's along
// its rows (columns when transposed).
MatRef shift_k(const MatRef& x, int64_t k0, bool is_b) {
  MatRef r = x;
  const bool k_is_row = is_b != x.trans;
  r.data = static_cast<const char*>(x.data) + (k_is_row ? k0 * x.ld : k0) * static_cast<int64_t>(dtype_size(x.dtype));
  return r;
}

constexpr int64_t kPanelsPerPackJob = 8;
constexpr int64_t kPackBand = 64;  // multiple of every kernel's ku

// Packs panels [first, last) of op(A) or op(B) over k in [k_begin, k_end) (panels of that depth,
// one after another) to dst, band by band along k, so the source is read a few hundred
// contiguous bytes at a time instead of one panel's width.
void pack_range(const Packed& q, bool is_b, int64_t first, int64_t last, char* dst_base, int64_t k_begin, int64_t k_end) {
  const Microkernel& k = *q.k;
  const int64_t es = static_cast<int64_t>(dtype_size(k.packed));
  const GemmProblem& p = *q.p;
  const int width = is_b ? k.nr : k.mr;
  const int64_t extent = is_b ? p.N : p.M;
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kPackBand) {
    const int64_t k1 = std::min(k_end, k0 + kPackBand);
    const int64_t real = std::max<int64_t>(0, std::min(p.K, k1) - k0);
    const MatRef src = shift_k(is_b ? p.B : p.A, k0, is_b);
    for (int64_t panel = first; panel < last; ++panel) {
      const int64_t start = panel * width;
      char* dst = dst_base + ((panel - first) * width * (k_end - k_begin) + (k0 - k_begin) * width) * es;
      (is_b ? k.pack_b : k.pack_a)(src, start, std::min<int64_t>(width, extent - start), real, k1 - k0, dst);
    }
  }
}

int64_t b_pack_panels(const Packed& q) { return q.b_in_tile ? 0 : q.b_panels; }

int64_t panel_bytes(const Packed& q, bool is_b) {
  return (is_b ? q.k->nr : q.k->mr) * q.kp * static_cast<int64_t>(dtype_size(q.k->packed));
}
int64_t a_pack_panels(const Packed& q) { return a_in_tile(q) ? 0 : q.a_panels - a_pack_first(q); }
int64_t a_pack_bytes(const Packed& q) { return round_up(a_pack_panels(q) * panel_bytes(q, false), 64); }
int64_t b_pack_bytes(const Packed& q) { return round_up(b_pack_panels(q) * panel_bytes(q, true), 64); }

void pack_task(const Packed& q, int64_t job) {
  const int64_t a_first = a_pack_first(q), a_jobs = ceil_div(a_pack_panels(q), kPanelsPerPackJob);
  const bool is_b = job >= a_jobs;
  const int64_t first = is_b ? (job - a_jobs) * kPanelsPerPackJob : a_first + job * kPanelsPerPackJob;
  const int64_t last = std::min(first + kPanelsPerPackJob, is_b ? q.b_panels : q.a_panels);
  pack_range(q, is_b, first, last, (is_b ? q.b : q.a) + (first - (is_b ? 0 : a_first)) * panel_bytes(q, is_b), 0, q.kp);
}

int64_t pack_jobs(const Packed& q) {
  return ceil_div(a_pack_panels(q), kPanelsPerPackJob) + ceil_div(b_pack_panels(q), kPanelsPerPackJob);
}

// out[0:n] = fma(beta, cin[0:n], alpha * acc[0:n]) in the output dtype (cin unused when beta ==
// 0): exactly the roundings of the microkernels' direct stores (BlockArgs), so a result has the
// same bits whichever path wrote it.
void scale_row(const GemmProblem& p, const float* acc, int64_t offset, int64_t n) {
  if (n <= 0) return;  // the whole row went straight to C
  thread_local std::vector<float> tmp;
  const float* v = acc;
  if (p.alpha != 1.f || p.beta != 0.f) {
    if (static_cast<int64_t>(tmp.size()) < n) tmp.resize(static_cast<size_t>(n));
    float* t = tmp.data();
    for (int64_t k = 0; k < n; ++k) t[k] = p.alpha * acc[k];
    if (p.beta != 0.f) {
      if (p.c_dtype == DType::F32) {
        const float* cin = static_cast<const float*>(p.Cin) + offset;
        for (int64_t k = 0; k < n; ++k) t[k] = std::fma(p.beta, cin[k], t[k]);
      } else {
        const bf16_t* cin = static_cast<const bf16_t*>(p.Cin) + offset;
        for (int64_t k = 0; k < n; ++k) t[k] = std::fma(p.beta, bf16_to_f32(cin[k]), t[k]);
      }
    }
    v = t;
  }
  if (p.c_dtype == DType::F32) {
    std::memcpy(static_cast<float*>(p.C) + offset, v, sizeof(float) * n);
  } else {
    bf16_t* out = static_cast<bf16_t*>(p.C) + offset;
    for (int64_t k = 0; k < n; ++k) out[k] = f32_to_bf16(v[k]);
  }
}

// Writes the tile from acc except its first `rows_done` x `cols_done`, already in C.
void write_tile(const GemmProblem& p, const Tile& t, const float* acc, int64_t ldacc, int64_t rows_done, int64_t cols_done) {
  for (int64_t r = 0; r < t.rows; ++r) {
    const int64_t skip = r < rows_done ? cols_done : 0;
    scale_row(p, acc + r * ldacc + skip, (t.i0 + r) * p.ldc + t.j0 + skip, t.cols - skip);
  }
}

// dst[b][a] = src[a][b] for an 8 x 8 block of 16-bit elements (rows ld elements apart).
void transpose8x8_u16(const bf16_t* src, int64_t ld_src, bf16_t* dst, int64_t ld_dst) {
  __m128i r[8], t[8];
  for (int a = 0; a < 8; ++a) r[a] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + a * ld_src));
  for (int a = 0; a < 8; a += 2) {
    t[a] = _mm_unpacklo_epi16(r[a], r[a + 1]);
    t[a + 1] = _mm_unpackhi_epi16(r[a], r[a + 1]);
  }
  for (int a = 0; a < 8; a += 4) {
    r[a] = _mm_unpacklo_epi32(t[a], t[a + 2]);
    r[a + 1] = _mm_unpackhi_epi32(t[a], t[a + 2]);
    r[a + 2] = _mm_unpacklo_epi32(t[a + 1], t[a + 3]);
    r[a + 3] = _mm_unpackhi_epi32(t[a + 1], t[a + 3]);
  }
  for (int a = 0; a < 4; ++a) {
    t[2 * a] = _mm_unpacklo_epi64(r[a], r[a + 4]);
    t[2 * a + 1] = _mm_unpackhi_epi64(r[a], r[a + 4]);
  }
  for (int b = 0; b < 8; ++b) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + b * ld_dst), t[b]);
}

// A symmetric output skips the tiles that lie wholly below the diagonal, and inside the others
// the mr x nr blocks that do (compute_tile); this fills them from their mirror, in 8 x 8 blocks
// (read and written a row at a time), for the rows [r0, r1). Row i's skipped columns are
// [0, floor(ip / nr) * nr) where ip starts i's panel of mr rows (which covers the skipped tiles
// too); that bound is a multiple of nr, so of 8.
template <typename T>
void mirror_rows(T* c, int64_t ldc, int64_t r0, int64_t r1, int64_t mr, int64_t nr) {
  constexpr int64_t kBlock = 8;
  auto bound = [&](int64_t i) { return (i / mr) * mr / nr * nr; };
  for (int64_t ib = r0; ib < r1; ib += kBlock) {
    const int64_t rows = std::min(kBlock, r1 - ib);
    for (int64_t jb = 0; jb < bound(ib + rows - 1); jb += kBlock) {
      if constexpr (sizeof(T) == 2) {
        if (rows == kBlock && jb < bound(ib)) {  // a whole block, every row of it mirrored
          transpose8x8_u16(c + jb * ldc + ib, ldc, c + ib * ldc + jb, ldc);
          continue;
        }
      }
      T block[kBlock][kBlock];  // block[a][b] = c[jb + a][ib + b]
      for (int64_t a = 0; a < kBlock; ++a)
        for (int64_t b = 0; b < rows; ++b) block[a][b] = c[(jb + a) * ldc + ib + b];
      for (int64_t b = 0; b < rows; ++b)
        if (jb < bound(ib + b))
          for (int64_t a = 0; a < kBlock; ++a) c[(ib + b) * ldc + jb + a] = block[a][b];
    }
  }
}

void mirror(const Packed& q, int64_t r0, int64_t r1) {
  const GemmProblem& p = *q.p;
  if (p.c_dtype == DType::F32) mirror_rows(static_cast<float*>(p.C), p.ldc, r0, r1, q.k->mr, q.k->nr);
  else mirror_rows(static_cast<bf16_t*>(p.C), p.ldc, r0, r1, q.k->mr, q.k->nr);
}

void compute_tile(const Packed& q, const Tile& t) {
  const Microkernel& k = *q.k;
  const GemmProblem& p = *q.p;
  const int64_t es = static_cast<int64_t>(dtype_size(k.packed));
  const int64_t cols_p = round_up(t.cols, k.nr);
  const int64_t ldacc = cols_p;
  const char* b_tile;
  if (q.b_in_tile) {
    thread_local std::vector<char> local;
    const size_t need = static_cast<size_t>(cols_p * q.kp * es + 64);
    if (local.size() < need) local.resize(need);
    char* buf = reinterpret_cast<char*>(round_up(reinterpret_cast<intptr_t>(local.data()), 64));
    pack_range(q, true, t.j0 / k.nr, (t.j0 + cols_p) / k.nr, buf, 0, q.kp);
    b_tile = buf;
  } else {
    b_tile = q.b + (t.j0 / k.nr) * k.nr * q.kp * es;
  }
  const int64_t first_packed = a_pack_first(q);
  // Whole mr x nr blocks go from the microkernel straight to C on their last k block, unless C
  // is too large to stay in cache: written 64 bytes per row at a time it then streams to memory
  // slower (measured: 2048 x 8192 bf16 -8%) than row by row from acc.
  // (A kernel with f32 panels stores f32 outputs only.)
  const bool direct_c = k.compute_block && q.kp > 0 && (k.packed == DType::BF16 || p.c_dtype == DType::F32) &&
                        p.M * p.ldc * static_cast<int64_t>(dtype_size(p.c_dtype)) <= kDirectOutputBytes;
  const int64_t cols_direct = direct_c ? t.cols / k.nr * k.nr : 0;
  // Rows in chunks of at most mc, all against the same packed columns of B.
  for (int64_t r0 = 0; r0 < t.rows; r0 += k.mc) {
    const Tile chunk{t.problem, t.i0 + r0, t.j0, std::min<int64_t>(k.mc, t.rows - r0), t.cols, 0};
    const int64_t rows_p = round_up(chunk.rows, k.mr);
    float* acc = tile_accumulator(static_cast<size_t>(rows_p * cols_p));
    if (q.kp == 0) std::memset(acc, 0, sizeof(float) * rows_p * cols_p);
    const int64_t rows_direct = direct_c ? chunk.rows / k.mr * k.mr : 0;
    const int64_t chunk_end = (chunk.i0 + rows_p) / k.mr;  // past the chunk's last panel of A
    const int64_t packed_here = a_in_tile(q) ? std::max(chunk.i0 / k.mr, first_packed) : chunk_end;
    for (int64_t k0 = 0; k0 < q.kp; k0 += k.kc) {
      const int64_t kc = std::min<int64_t>(k.kc, q.kp - k0);
      const bool last = k0 + kc == q.kp;
      char* a_here = nullptr;  // panels [packed_here, chunk_end) over this k block
      if (packed_here < chunk_end) {
        a_here = tile_a_panels(static_cast<size_t>((chunk_end - packed_here) * k.mr * kc * es));
        pack_range(q, false, packed_here, chunk_end, a_here, k0, k0 + kc);
      }
      for (int64_t jc = 0; jc < cols_p; jc += k.nr) {
        const char* b = b_tile + ((jc / k.nr) * k.nr * q.kp + k0 * k.nr) * es;
        for (int64_t ir = 0; ir < rows_p; ir += k.mr) {
          const int64_t row = chunk.i0 + ir, panel = row / k.mr;
          if (p.symmetric && t.j0 + jc + k.nr <= row) continue;  // wholly below the diagonal: see mirror_rows
          BlockArgs x{kc, nullptr, 0, b, acc + ir * ldacc + jc, ldacc, k0 > 0, nullptr, p.ldc, p.c_dtype};
          if (a_here && panel >= packed_here) {
            x.a = a_here + (panel - packed_here) * k.mr * kc * es;
          } else if (panel < first_packed) {
            x.a = static_cast<const char*>(p.A.data) + (row * p.A.ld + k0) * es;
            x.lda = p.A.ld;
          } else {
            x.a = q.a + ((panel - first_packed) * k.mr * q.kp + k0 * k.mr) * es;
          }
          if (last && ir < rows_direct && jc < cols_direct) {
            const int64_t offset = (row * p.ldc + t.j0 + jc) * static_cast<int64_t>(dtype_size(p.c_dtype));
            x.c = static_cast<char*>(p.C) + offset;
            if (p.beta != 0.f) x.cin = static_cast<const char*>(p.Cin) + offset;
            x.alpha = p.alpha;
            x.beta = p.beta;
          }
          if (k.compute_block) k.compute_block(x);
          else k.compute(kc, x.a, b, x.acc, ldacc, x.accumulate);
        }
      }
    }
    write_tile(p, chunk, acc, ldacc, rows_direct, cols_direct);
  }
  if (q.mirror_in_tile) mirror(q, 0, p.M);
}

// The driver's lists, kept per thread between calls: attention runs thousands of small GEMMs per
// step, each one a task on a worker, and their allocations were a few percent of it. (No GEMM
// runs inside a GEMM, so a thread never uses them twice at once.)
struct BatchLists {
  std::vector<Packed> packed;
  std::vector<std::pair<int32_t, int64_t>> jobs, mirrors;
  std::vector<Tile> tiles;
};

BatchLists& batch_lists() {
  thread_local BatchLists lists;
  lists.packed.clear();
  lists.jobs.clear();
  lists.mirrors.clear();
  lists.tiles.clear();
  return lists;
}

}  // namespace

void gemm_batch_blocked(const GemmProblem* problems, int64_t count, Isa isa) {
  const int threads = num_threads();
  BatchLists& lists = batch_lists();
  std::vector<Packed>& packed = lists.packed;
  int64_t bytes = 0;
  for (int64_t i = 0; i < count; ++i) {
    const GemmProblem& p = problems[i];
    if (p.M == 0 || p.N == 0) continue;
    Packed q{};
    q.p = &p;
    q.k = &select_kernel(p.A.dtype, isa);
    q.kp = round_up(p.K, q.k->ku);
    q.a_panels = ceil_div(p.M, q.k->mr);
    q.b_panels = ceil_div(p.N, q.k->nr);
    q.a_unpacked = can_read_a_in_place(p, *q.k);
    choose_tiles(q, threads, count);
    packed.push_back(q);
    bytes += a_pack_bytes(q) + b_pack_bytes(q);
  }
  if (packed.empty()) return;

  char* ws = batch_workspace(bytes);
  std::vector<std::pair<int32_t, int64_t>>& jobs = lists.jobs;
  for (size_t i = 0; i < packed.size(); ++i) {
    Packed& q = packed[i];
    q.a = ws;
    q.b = q.a + a_pack_bytes(q);
    ws = q.b + b_pack_bytes(q);
    for (int64_t j = 0; j < pack_jobs(q); ++j) jobs.emplace_back(static_cast<int32_t>(i), j);
  }
  parallel_for(static_cast<int64_t>(jobs.size()), [&](int64_t j) { pack_task(packed[jobs[j].first], jobs[j].second); });

  std::vector<Tile>& tiles = lists.tiles;
  for (size_t i = 0; i < packed.size(); ++i) {
    const Packed& q = packed[i];
    const GemmProblem& p = *q.p;
    for (int64_t i0 = 0; i0 < p.M; i0 += q.mc)
      for (int64_t j0 = 0; j0 < p.N; j0 += q.nc) {
        const int64_t rows = std::min(q.mc, p.M - i0), cols = std::min(q.nc, p.N - j0);
        if (p.symmetric && j0 + cols <= i0) continue;  // wholly below the diagonal: see mirror_rows
        tiles.push_back({static_cast<int32_t>(i), i0, j0, rows, cols, double(rows) * cols * (q.kp + 8)});
      }
  }
  // Largest first; ties in the order made (std::stable_sort would allocate a buffer each call).
  std::sort(tiles.begin(), tiles.end(), [](const Tile& x, const Tile& y) {
    if (x.cost != y.cost) return x.cost > y.cost;
    if (x.problem != y.problem) return x.problem < y.problem;
    return x.i0 != y.i0 ? x.i0 < y.i0 : x.j0 < y.j0;
  });
  parallel_for(static_cast<int64_t>(tiles.size()), [&](int64_t i) { compute_tile(packed[tiles[i].problem], tiles[i]); });

  std::vector<std::pair<int32_t, int64_t>>& mirrors = lists.mirrors;
  for (size_t i = 0; i < packed.size(); ++i)
    if (packed[i].p->symmetric && !packed[i].mirror_in_tile)
      for (int64_t b = 0; b < ceil_div(packed[i].p->M, packed[i].mc); ++b) mirrors.emplace_back(static_cast<int32_t>(i), b);
  parallel_for(static_cast<int64_t>(mirrors.size()), [&](int64_t j) {
    const Packed& q = packed[mirrors[j].first];
    const int64_t r0 = mirrors[j].second * q.mc;
    mirror(q, r0, std::min(q.p->M, r0 + q.mc));
  });
}

}  // namespace mt::cpu
