// Scaled dot-product attention and its backward, the simple SIMT version (no tensor cores, no
// reuse of K and V across queries): q [B,Sq,H,dk], k [B,Sk,H,dk], v [B,Sk,H,dv] (the op passes
// Sk = Sq); query i sees keys 0..i when causal, all keys otherwise. Arithmetic in float for f32
// and bf16 alike.
//   forward, one block per query row: pass 1 keeps each thread's running max and sum of exp over
//     its keys (online softmax); every thread then combines the threads' pairs in thread order
//     into the row's max and sum, lse = max + log(sum); pass 2 takes the keys in chunks of
//     kThreads: each thread one key's p = exp(s - max) / sum into shared memory, then each thread
//     sums p·v over the chunk for its output columns.
//   dq, one block per query row: delta = rowsum(dO ⊙ out) (in double), then per key chunk
//     dS = scale·p·(dO·v - delta) with p from the kept probabilities or exp(s - lse), and
//     dq += dS·k for each thread's columns.
//   dk and dv, one block per key row: the visible queries in chunks, in order, each thread one
//     query's p and dS, then dv += p·dO and dk += dS·q for each thread's columns.
// Every sum has a fixed order (no atomics): two runs give the same bits. A row with no visible
// key (none in the op; Sk = 0 here) gets lse = -inf, zero output and zero gradients, no NaN.
// The running sums of a thread's columns live in shared memory, owned by that thread (column c
// by thread c mod kThreads), so no per-thread array needs local memory whatever dk and dv are.
// The block reductions are one barrier each (every thread reads all kThreads partials), not a
// tree: fewer barriers matter more than the few loads, on the GPU and far more on the emulator.
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

template <class T>
struct AttentionArgs {
  const T *q = nullptr, *k = nullptr, *v = nullptr;
  const T *out_in = nullptr, *dout = nullptr;  // backward: the forward's out and its gradient
  const T* probs_in = nullptr;                 // backward: kept probabilities [B,H,Sq,Sk], or null
  T *out = nullptr, *probs = nullptr;          // forward (probs null unless kept)
  T *dq = nullptr, *dk = nullptr, *dv = nullptr;
  float* lse = nullptr;    // [B,H,Sq]: written by the forward, read by the backward
  float* delta = nullptr;  // [B,H,Sq]: rowsum(dO ⊙ out), written by the dq kernel, read by dk/dv
  int64_t B = 0, H = 0, Sq = 0, Sk = 0, Dk = 0, Dv = 0;
  float scale = 1;
  bool causal = true;
};

// The launch geometry and the dynamic shared memory, one layout for the three kernels (byte
// offsets): a reduction scratch of kThreads doubles (or float pairs), a dk row and a dv row, two
// chunks of kThreads floats, the column sums of dk and of dv: 16·kThreads + 8(dk + dv) bytes.
struct AttentionBlock {
  static constexpr int kThreads = 64;
  // dk + dv at most this, so that the shared memory stays within the 48 KiB every launch may use.
  static constexpr int64_t kMaxHeadDims = (48 * 1024 - 2 * kThreads * 8) / 8;
  static dev::Dim3 block() { return {kThreads, 1, 1}; }
  int64_t row_k, row_v, chunk_a, chunk_b, acc_k, acc_v;
  size_t bytes;
  static MT_HD AttentionBlock layout(int64_t dk, int64_t dv) {
    AttentionBlock l{};
    l.row_k = kThreads * 8;
    l.row_v = l.row_k + 4 * dk;
    l.chunk_a = l.row_v + 4 * dv;
    l.chunk_b = l.chunk_a + 4 * kThreads;
    l.acc_k = l.chunk_b + 4 * kThreads;
    l.acc_v = l.acc_k + 4 * dk;
    l.bytes = size_t(l.acc_v + 4 * dv);
    return l;
  }
};

// Keys visible to query i, and the first query that sees key j.
template <class T>
MT_DEVICE int64_t visible_keys(const AttentionArgs<T>& a, int64_t i) { return a.causal ? (i + 1 < a.Sk ? i + 1 : a.Sk) : a.Sk; }
template <class T>
MT_DEVICE int64_t first_query(const AttentionArgs<T>& a, int64_t j) { return a.causal ? j : 0; }

// sum over c in order of x[c]·y[c]: x a row in shared memory, y a row in global memory.
template <class T>
MT_DEVICE float dot_row(dev::Smem<float> x, const T* y, int64_t n) {
  float s = 0;
  for (int64_t c = 0; c < n; ++c) s += x.ld(int(c)) * to_f32(y[c]);
  return s;
}

struct SoftmaxRow {
  float max, sum;  // of the scores, of exp(score - max)
};

// The row's max and sum from each thread's (m, l), combined in thread order by every thread; red
// holds 2·kThreads floats and is not written again by the caller.
MT_DEVICE SoftmaxRow combine_softmax(dev::Smem<float> red, float m, float l) {
  constexpr int N = AttentionBlock::kThreads;
  const int tid = int(dev::thread_rank());
  red.st(tid, m);
  red.st(N + tid, l);
  dev::sync_block();
  float M = -INFINITY, L = 0;
  for (int t = 0; t < N; ++t) M = MaxOp{}(M, red.ld(t));
  for (int t = 0; t < N; ++t) L += red.ld(N + t) * expf(red.ld(t) - M);  // a thread without keys adds 0·exp(-inf - M) = 0
  return {M, L};  // NaN sum when no key is visible at all (M = -inf): the caller tests for that
}

// The sum of every thread's v in thread order, by every thread; red holds kThreads doubles and is
// not written again by the caller.
MT_DEVICE double block_sum(dev::Smem<double> red, double v) {
  constexpr int N = AttentionBlock::kThreads;
  red.st(int(dev::thread_rank()), v);
  dev::sync_block();
  double s = 0;
  for (int t = 0; t < N; ++t) s += red.ld(t);
  return s;
}

// dst[c] = src[c] (widened), each thread its columns; zero_row: acc[c] = 0.
template <class T>
MT_DEVICE void load_row(dev::Smem<float> dst, const T* src, int64_t n) {
  for (int64_t c = dev::thread_rank(); c < n; c += AttentionBlock::kThreads) dst.st(int(c), to_f32(src[c]));
}
MT_DEVICE void zero_row(dev::Smem<float> acc, int64_t n) {
  for (int64_t c = dev::thread_rank(); c < n; c += AttentionBlock::kThreads) acc.st(int(c), 0.f);
}

// acc[c] += sum over r < n in order of w[r] · rows[r·stride + c], each thread its columns c < cols.
template <class T>
MT_DEVICE void accumulate_rows(dev::Smem<float> acc, dev::Smem<float> w, int n, const T* rows, int64_t stride, int64_t cols) {
  for (int64_t c = dev::thread_rank(); c < cols; c += AttentionBlock::kThreads) {
    float s = acc.ld(int(c));
    for (int r = 0; r < n; ++r) s += w.ld(r) * to_f32(rows[r * stride + c]);
    acc.st(int(c), s);
  }
}

template <class T>
MT_DEVICE void store_row(T* dst, dev::Smem<float> acc, int64_t n) {
  for (int64_t c = dev::thread_rank(); c < n; c += AttentionBlock::kThreads) dst[c] = from_f32<T>(acc.ld(int(c)));
}

template <class T>
MT_DEVICE void attention_forward_body(const AttentionArgs<T>& a) {
  constexpr int N = AttentionBlock::kThreads;
  const AttentionBlock L = AttentionBlock::layout(a.Dk, a.Dv);
  const int64_t row = dev::block_idx().x, bh = row / a.Sq, i = row % a.Sq, b = bh / a.H, h = bh % a.H;
  const int tid = int(dev::thread_rank());
  const dev::Smem<float> qs = dev::shared_at<float>(L.row_k), ps = dev::shared_at<float>(L.chunk_a), acc = dev::shared_at<float>(L.acc_v);
  const int64_t kstride = a.H * a.Dk, vstride = a.H * a.Dv;
  const T* k0 = a.k + b * a.Sk * kstride + h * a.Dk;  // key 0 of this (b, h)
  const T* v0 = a.v + b * a.Sk * vstride + h * a.Dv;
  load_row(qs, a.q + ((b * a.Sq + i) * a.H + h) * a.Dk, a.Dk);
  zero_row(acc, a.Dv);
  dev::sync_block();
  const int64_t keys = visible_keys(a, i);

  float m = -INFINITY, l = 0;  // this thread's keys: max of the scores, sum of exp(s - m)
  for (int64_t j = tid; j < keys; j += N) {
    const float s = a.scale * dot_row(qs, k0 + j * kstride, a.Dk);
    if (s > m) {
      l = l * expf(m - s) + 1.f;
      m = s;
    } else {
      l += expf(s - m);
    }
  }
  const SoftmaxRow sm = combine_softmax(dev::shared_at<float>(0), m, l);
  const float mx = sm.max, sum = sm.sum;
  if (tid == 0) a.lse[row] = keys > 0 ? mx + logf(sum) : -INFINITY;
  const float inv = keys > 0 ? 1.f / sum : 0.f;

  T* probs = a.probs ? a.probs + row * a.Sk : nullptr;
  for (int64_t j0 = 0; j0 < keys; j0 += N) {
    const int n = int(keys - j0 < N ? keys - j0 : N);
    if (tid < n) {
      const int64_t j = j0 + tid;
      const float p = expf(a.scale * dot_row(qs, k0 + j * kstride, a.Dk) - mx) * inv;
      ps.st(tid, p);
      if (probs) probs[j] = from_f32<T>(p);
    }
    dev::sync_block();
    accumulate_rows(acc, ps, n, v0 + j0 * vstride, vstride, a.Dv);
    dev::sync_block();
  }
  store_row(a.out + ((b * a.Sq + i) * a.H + h) * a.Dv, acc, a.Dv);
  if (probs)
    for (int64_t j = keys + tid; j < a.Sk; j += N) probs[j] = from_f32<T>(0.f);
}

// p for query row `qrow` (index into lse / probs rows) and key j, from the kept probabilities or
// recomputed from the score s (unscaled) and lse.
template <class T>
MT_DEVICE float probability(const AttentionArgs<T>& a, int64_t qrow, int64_t j, float s) {
  return a.probs_in ? to_f32(a.probs_in[qrow * a.Sk + j]) : expf(a.scale * s - a.lse[qrow]);
}

template <class T>
MT_DEVICE void attention_backward_dq_body(const AttentionArgs<T>& a) {
  constexpr int N = AttentionBlock::kThreads;
  const AttentionBlock L = AttentionBlock::layout(a.Dk, a.Dv);
  const int64_t row = dev::block_idx().x, bh = row / a.Sq, i = row % a.Sq, b = bh / a.H, h = bh % a.H;
  const int tid = int(dev::thread_rank());
  const dev::Smem<float> qs = dev::shared_at<float>(L.row_k), dos = dev::shared_at<float>(L.row_v), dss = dev::shared_at<float>(L.chunk_a),
                         acc = dev::shared_at<float>(L.acc_k);
  const int64_t kstride = a.H * a.Dk, vstride = a.H * a.Dv, orow = ((b * a.Sq + i) * a.H + h) * a.Dv;
  const T* k0 = a.k + b * a.Sk * kstride + h * a.Dk;
  const T* v0 = a.v + b * a.Sk * vstride + h * a.Dv;
  load_row(qs, a.q + ((b * a.Sq + i) * a.H + h) * a.Dk, a.Dk);
  load_row(dos, a.dout + orow, a.Dv);
  zero_row(acc, a.Dk);
  double part = 0;
  for (int64_t c = tid; c < a.Dv; c += N) part += double(to_f32(a.dout[orow + c])) * to_f32(a.out_in[orow + c]);
  const float delta = float(block_sum(dev::shared_at<double>(0), part));  // its barrier orders the loads
  if (tid == 0) a.delta[row] = delta;

  const int64_t keys = visible_keys(a, i);
  for (int64_t j0 = 0; j0 < keys; j0 += N) {
    const int n = int(keys - j0 < N ? keys - j0 : N);
    if (tid < n) {
      const int64_t j = j0 + tid;
      const float p = probability(a, row, j, a.probs_in ? 0.f : dot_row(qs, k0 + j * kstride, a.Dk));
      dss.st(tid, a.scale * p * (dot_row(dos, v0 + j * vstride, a.Dv) - delta));
    }
    dev::sync_block();
    accumulate_rows(acc, dss, n, k0 + j0 * kstride, kstride, a.Dk);
    dev::sync_block();
  }
  store_row(a.dq + ((b * a.Sq + i) * a.H + h) * a.Dk, acc, a.Dk);
}

// After the dq kernel (it writes delta).
template <class T>
MT_DEVICE void attention_backward_dkv_body(const AttentionArgs<T>& a) {
  constexpr int N = AttentionBlock::kThreads;
  const AttentionBlock L = AttentionBlock::layout(a.Dk, a.Dv);
  const int64_t row = dev::block_idx().x, bh = row / a.Sk, j = row % a.Sk, b = bh / a.H, h = bh % a.H;
  const int tid = int(dev::thread_rank());
  const dev::Smem<float> ks = dev::shared_at<float>(L.row_k), vs = dev::shared_at<float>(L.row_v), ps = dev::shared_at<float>(L.chunk_a),
                         dss = dev::shared_at<float>(L.chunk_b), acck = dev::shared_at<float>(L.acc_k), accv = dev::shared_at<float>(L.acc_v);
  const int64_t kstride = a.H * a.Dk, vstride = a.H * a.Dv;
  const T* q0 = a.q + b * a.Sq * kstride + h * a.Dk;  // query 0 of this (b, h)
  const T* do0 = a.dout + b * a.Sq * vstride + h * a.Dv;
  load_row(ks, a.k + ((b * a.Sk + j) * a.H + h) * a.Dk, a.Dk);
  load_row(vs, a.v + ((b * a.Sk + j) * a.H + h) * a.Dv, a.Dv);
  zero_row(acck, a.Dk);
  zero_row(accv, a.Dv);
  dev::sync_block();

  for (int64_t i0 = first_query(a, j); i0 < a.Sq; i0 += N) {
    const int n = int(a.Sq - i0 < N ? a.Sq - i0 : N);
    if (tid < n) {
      const int64_t i = i0 + tid, qrow = bh * a.Sq + i;
      const float p = probability(a, qrow, j, a.probs_in ? 0.f : dot_row(ks, q0 + i * kstride, a.Dk));
      ps.st(tid, p);
      dss.st(tid, a.scale * p * (dot_row(vs, do0 + i * vstride, a.Dv) - a.delta[qrow]));
    }
    dev::sync_block();
    accumulate_rows(accv, ps, n, do0 + i0 * vstride, vstride, a.Dv);
    accumulate_rows(acck, dss, n, q0 + i0 * kstride, kstride, a.Dk);
    dev::sync_block();
  }
  store_row(a.dk + ((b * a.Sk + j) * a.H + h) * a.Dk, acck, a.Dk);
  store_row(a.dv + ((b * a.Sk + j) * a.H + h) * a.Dv, accv, a.Dv);
}

}  // namespace mt::kern
