// Ring all-gather, reduce-scatter, allReduce and broadcast over the shared-memory channels.
//
// Each chunk is cut into pieces of one slot. For every piece index p the ring runs its size-1
// steps (outer loop over pieces, inner loop over steps, as NCCL's runRing), so a rank forwards
// piece p of one chunk while its neighbour already works on the next.
//
// all-gather, step s of rank r handles chunk (r - s): step 0 sends its own chunk; steps
//   1..size-2 receive, forward to the next rank, and copy into the output; the last step only
//   receives and copies.
// reduce-scatter, step s of rank r handles chunk (r - 1 - s): step 0 sends its input of chunk
//   r-1 (as fp32); steps 1..size-2 receive a partial sum, add their input, send on; the last
//   step (chunk r) adds its input and writes the output. Chunk c is therefore summed
//   ((x[c+1] + x[c+2]) + ...) + x[c].
#include <algorithm>
#include <cstring>

#include "comm_internal.h"
#include "communicator.h"

namespace mt::comm {

namespace {

uint64_t fnv1a(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t signature_of(CollOp op, DType dtype, const std::vector<int64_t>& counts, int64_t extra) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, static_cast<uint64_t>(op));
  h = fnv1a(h, static_cast<uint64_t>(dtype));
  for (int64_t c : counts) h = fnv1a(h, static_cast<uint64_t>(c));
  return fnv1a(h, static_cast<uint64_t>(extra));
}

std::string dtype_str(uint32_t d) { return d == static_cast<uint32_t>(DType::F32) ? "f32" : d == static_cast<uint32_t>(DType::BF16) ? "bf16" : "?"; }

}  // namespace

// One collective call's view of the ring: the outgoing channel (this rank -> next) and the
// incoming one (prev -> this rank), and the message descriptor every piece carries.
struct RingCall {
  Communicator& c;
  const char* op;
  MessageHeader desc;
  uint64_t* counter;
  int next, prev;
  Channel& out;
  Channel& in;

  RingCall(Communicator& comm, CollOp kind, const char* op_name, DType dtype, int64_t total, uint64_t signature, uint64_t* bytes_counter)
      : c(comm), op(op_name), desc{}, counter(bytes_counter), next((comm.rank_ + 1) % comm.size_),
        prev((comm.rank_ + comm.size_ - 1) % comm.size_), out(comm.channel(comm.rank_)), in(comm.channel(prev)) {
    desc.op = static_cast<uint32_t>(kind);
    desc.dtype = static_cast<uint32_t>(dtype);
    desc.total = static_cast<uint64_t>(total);
    desc.signature = signature;
    desc.call = comm.calls_;
  }

  // The next free slot of the outgoing channel (waits for the next rank to drain one).
  char* send_slot() {
    const uint32_t seq = c.send_seq_;
    const int32_t slots = c.slots_;
    c.wait_word(out.tail, [seq, slots](uint32_t t) { return static_cast<int32_t>(seq - t) < slots; }, op, next, "to free a slot");
    return c.slot_data(c.rank_, static_cast<int>(seq % static_cast<uint32_t>(c.slots_)));
  }

  void publish(uint64_t bytes) {
    const uint32_t seq = c.send_seq_;
    const int k = static_cast<int>(seq % static_cast<uint32_t>(c.slots_));
    out.message[k] = desc;
    out.message[k].bytes = bytes;
    c.post_word(out.head[k], seq + 1);
    c.send_seq_ = seq + 1;
    *counter += bytes;
  }

  // The next message on the incoming channel, checked against this rank's own call.
  const char* receive(uint64_t bytes) {
    const uint32_t seq = c.recv_seq_;
    const int k = static_cast<int>(seq % static_cast<uint32_t>(c.slots_));
    c.wait_word(in.head[k], [seq](uint32_t v) { return v == seq + 1; }, op, prev, "to send data");
    const MessageHeader& m = in.message[k];
    if (m.op != desc.op || m.dtype != desc.dtype || m.total != desc.total || m.signature != desc.signature || m.bytes != bytes) {
      const std::string theirs = std::string(coll_op_name(static_cast<CollOp>(m.op))) + " (" + dtype_str(m.dtype) + ", " +
                                 std::to_string(m.total) + " elements)";
      const std::string mine = std::string(coll_op_name(static_cast<CollOp>(desc.op))) + " (" + dtype_str(desc.dtype) + ", " +
                               std::to_string(desc.total) + " elements)";
      c.fail_kind(op, prev,
                  "collective mismatch: rank " + std::to_string(prev) + " sent data of its call #" + std::to_string(m.call) + ", " + theirs +
                      (theirs == mine ? " with other counts or root" : "") + ", to rank " + std::to_string(c.rank_) + " in its call #" +
                      std::to_string(desc.call) + ", " + mine,
                  true, kAbortMismatch);
    }
    return c.slot_data(prev, k);
  }

  void release() {
    c.recv_seq_ += 1;
    c.post_word(in.tail, c.recv_seq_);
  }
};

namespace {

std::vector<int64_t> displacements(const std::vector<int64_t>& counts) {
  std::vector<int64_t> d(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) d[i + 1] = d[i] + counts[i];
  return d;
}

size_t largest_bytes(const std::vector<int64_t>& counts, size_t esz) {
  int64_t most = 0;
  for (int64_t c : counts) most = std::max(most, c);
  return static_cast<size_t>(most) * esz;
}

int64_t pieces_for(const std::vector<int64_t>& counts, int64_t piece) {
  int64_t most = 0;
  for (int64_t c : counts) most = std::max(most, c);
  return (most + piece - 1) / piece;
}

}  // namespace

// all-gather on the ring (see the top of the file); `counter` gets the bytes sent.
static void ring_all_gather(Communicator& comm, RingCall& call, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts);
static void ring_reduce_scatter(Communicator& comm, RingCall& call, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts);

void Communicator::all_gather_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) {
  const char* op = "allGather";
  check_usable(op);
  const size_t esz = dtype_size(dtype);
  const std::vector<int64_t> d = displacements(counts);
  char* own = static_cast<char*>(out) + static_cast<size_t>(d[rank_]) * esz;
  const size_t own_bytes = static_cast<size_t>(counts[rank_]) * esz;
  if (size_ == 1) {
    if (own != in && own_bytes) std::memmove(own, in, own_bytes);
    return;
  }
  const uint64_t sig = signature_of(CollOp::AllGather, dtype, counts, 0);
  begin_call(CollOp::AllGather, sig);
  if (use_direct(largest_bytes(counts, esz))) {
    direct_all_gather(op, static_cast<const char*>(in), static_cast<char*>(out), dtype, counts, &bytes_.all_gather);
    return;
  }
  RingCall call(*this, CollOp::AllGather, op, dtype, d[size_], sig, &bytes_.all_gather);
  ring_all_gather(*this, call, static_cast<const char*>(in), static_cast<char*>(out), dtype, counts);
}

void Communicator::reduce_scatter_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) {
  const char* op = "reduceScatter";
  check_usable(op);
  const size_t esz = dtype_size(dtype);
  const std::vector<int64_t> d = displacements(counts);
  const char* own = static_cast<const char*>(in) + static_cast<size_t>(d[rank_]) * esz;
  const size_t own_bytes = static_cast<size_t>(counts[rank_]) * esz;
  if (size_ == 1) {
    if (own != out && own_bytes) std::memmove(out, own, own_bytes);
    return;
  }
  const uint64_t sig = signature_of(CollOp::ReduceScatter, dtype, counts, 0);
  begin_call(CollOp::ReduceScatter, sig);
  if (use_direct(largest_bytes(counts, esz))) {
    direct_reduce_scatter(op, static_cast<const char*>(in), static_cast<char*>(out), dtype, counts, &bytes_.reduce_scatter);
    return;
  }
  RingCall call(*this, CollOp::ReduceScatter, op, dtype, d[size_], sig, &bytes_.reduce_scatter);
  ring_reduce_scatter(*this, call, static_cast<const char*>(in), static_cast<char*>(out), dtype, counts);
}

void Communicator::all_reduce(void* data, DType dtype, int64_t n) {
  const char* op = "allReduce";
  check_usable(op);
  if (size_ == 1) return;
  const std::vector<int64_t> counts = even_counts(n, size_);
  const std::vector<int64_t> d = displacements(counts);
  char* base = static_cast<char*>(data);
  char* own = base + static_cast<size_t>(d[rank_]) * dtype_size(dtype);
  const uint64_t sig = signature_of(CollOp::AllReduce, dtype, counts, 0);
  begin_call(CollOp::AllReduce, sig);
  if (use_direct(largest_bytes(counts, dtype_size(dtype)))) {
    direct_reduce_scatter(op, base, own, dtype, counts, &bytes_.all_reduce);
    direct_all_gather(op, own, base, dtype, counts, &bytes_.all_reduce);
    return;
  }
  {
    RingCall call(*this, CollOp::AllReduce, op, dtype, n, sig, &bytes_.all_reduce);
    ring_reduce_scatter(*this, call, base, own, dtype, counts);
  }
  {
    RingCall call(*this, CollOp::AllReduce, op, dtype, n, sig ^ 1, &bytes_.all_reduce);
    ring_all_gather(*this, call, own, base, dtype, counts);
  }
}

void Communicator::broadcast(void* data, DType dtype, int64_t n, int root) {
  const char* op = "broadcast";
  check_usable(op);
  if (size_ == 1 || n == 0) {
    if (size_ > 1) {
      // Still a collective: keep the call numbering in step with the other ranks.
      begin_call(CollOp::Broadcast, signature_of(CollOp::Broadcast, dtype, {n}, root));
    }
    return;
  }
  const uint64_t sig = signature_of(CollOp::Broadcast, dtype, {n}, root);
  begin_call(CollOp::Broadcast, sig);
  const size_t esz = dtype_size(dtype);
  if (use_direct(static_cast<size_t>(n) * esz)) {
    direct_broadcast(op, static_cast<char*>(data), static_cast<size_t>(n) * esz, root, &bytes_.broadcast);
    return;
  }
  RingCall call(*this, CollOp::Broadcast, op, dtype, n, sig, &bytes_.broadcast);
  const int64_t piece = static_cast<int64_t>(slot_bytes_ / esz);
  const int dist = (rank_ - root + size_) % size_;
  char* base = static_cast<char*>(data);
  for (int64_t off = 0; off < n; off += piece) {
    const int64_t len = std::min(piece, n - off);
    const size_t bytes = static_cast<size_t>(len) * esz;
    char* dst = base + static_cast<size_t>(off) * esz;
    if (dist == 0) {
      copy_cached(call.send_slot(), dst, bytes);
      call.publish(bytes);
    } else {
      const char* src = call.receive(bytes);
      if (dist < size_ - 1) {
        copy_cached(call.send_slot(), src, bytes);
        call.publish(bytes);
      }
      std::memcpy(dst, src, bytes);
      call.release();
    }
  }
}

static void ring_all_gather(Communicator& comm, RingCall& call, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts) {
  const int N = comm.size(), r = comm.rank();
  const size_t esz = dtype_size(dtype);
  const std::vector<int64_t> d = displacements(counts);
  const int64_t piece = static_cast<int64_t>(comm.slot_bytes() / esz);
  const int64_t P = pieces_for(counts, piece);
  char* own = out + static_cast<size_t>(d[r]) * esz;
  const bool in_place = own == in;
  const bool stream = static_cast<size_t>(d[N]) * esz >= streaming_min_bytes();
  auto to_output = stream ? copy_streaming : copy_cached;
  for (int64_t p = 0; p < P; ++p) {
    const int64_t off = p * piece;
    // Step 0: this rank's chunk.
    if (off < counts[r]) {
      const int64_t len = std::min(piece, counts[r] - off);
      const size_t bytes = static_cast<size_t>(len) * esz;
      const char* src = in + static_cast<size_t>(off) * esz;
      copy_cached(call.send_slot(), src, bytes);
      call.publish(bytes);
      if (!in_place) to_output(own + static_cast<size_t>(off) * esz, src, bytes);
    }
    for (int s = 1; s < N; ++s) {
      const int c = (r - s + N) % N;
      if (off >= counts[c]) continue;
      const int64_t len = std::min(piece, counts[c] - off);
      const size_t bytes = static_cast<size_t>(len) * esz;
      const char* src = call.receive(bytes);
      if (s < N - 1) {
        copy_cached(call.send_slot(), src, bytes);
        call.publish(bytes);
      }
      to_output(out + static_cast<size_t>(d[c] + off) * esz, src, bytes);
      call.release();
    }
  }
}

static void ring_reduce_scatter(Communicator& comm, RingCall& call, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts) {
  const int N = comm.size(), r = comm.rank();
  const size_t esz = dtype_size(dtype);
  const std::vector<int64_t> d = displacements(counts);
  // Partial sums travel as fp32 whatever the dtype.
  const int64_t piece = static_cast<int64_t>(comm.slot_bytes() / sizeof(float));
  const bool stream = stream_final_sums(out, in + static_cast<size_t>(d[r]) * esz, static_cast<size_t>(counts[r]) * esz);
  const int64_t P = pieces_for(counts, piece);
  for (int64_t p = 0; p < P; ++p) {
    const int64_t off = p * piece;
    {
      const int c = (r - 1 + N) % N;
      if (off < counts[c]) {
        const int64_t len = std::min(piece, counts[c] - off);
        widen_to_f32(reinterpret_cast<float*>(call.send_slot()), in + static_cast<size_t>(d[c] + off) * esz, dtype, len);
        call.publish(static_cast<uint64_t>(len) * sizeof(float));
      }
    }
    for (int s = 1; s < N; ++s) {
      const int c = (r - 1 - s + 2 * N) % N;
      if (off >= counts[c]) continue;
      const int64_t len = std::min(piece, counts[c] - off);
      const float* partial = reinterpret_cast<const float*>(call.receive(static_cast<uint64_t>(len) * sizeof(float)));
      const char* x = in + static_cast<size_t>(d[c] + off) * esz;
      if (s < N - 1) {
        add_partial(reinterpret_cast<float*>(call.send_slot()), partial, x, dtype, len);
        call.publish(static_cast<uint64_t>(len) * sizeof(float));
      } else {
        (stream ? add_final_streaming : add_final)(out + static_cast<size_t>(off) * esz, partial, x, dtype, len);
      }
      call.release();
    }
  }
}

}  // namespace mt::comm
