// MpiCommunicator: see mpi_communicator.h.
#include "mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "comm_internal.h"

namespace mt::comm {

namespace {

constexpr int kThreadFunneled = 1;  // MPI_THREAD_FUNNELED in both ABIs
constexpr int kNameBytes = 256;     // >= MPI_MAX_PROCESSOR_NAME of both ABIs (256, 128)

int to_int(int64_t n, const char* op) {
  if (n > INT_MAX) throw RuntimeError(op, "ERR_MOONTRAIN_MPI", "a message of " + std::to_string(n) + " elements exceeds MPI's int counts");
  return static_cast<int>(n);
}

std::vector<int64_t> offsets_of(const std::vector<int64_t>& counts) {
  std::vector<int64_t> off(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) off[i + 1] = off[i] + counts[i];
  return off;
}

MpiCommunicator* g_current = nullptr;

}  // namespace

MpiCommunicator* MpiCommunicator::current() { return g_current; }

void MpiCommunicator::check(int rc, const char* call, const char* op) const {
  if (rc != 0) throw CommError(op, "ERR_MOONTRAIN_MPI", mpi::error_text(*m_, call, rc), -1);
}

void MpiCommunicator::check_usable(const char* op) const {
  if (closed_) throw RuntimeError(op, "ERR_MOONTRAIN_COMM_CLOSED", "the communicator is closed");
}

MpiCommunicator::MpiCommunicator(const std::string& job, int expect_rank, int expect_size, MpiMode mode, const Options& shm_options) {
  const char* op = "Communicator";
  std::string why;
  m_ = mpi::library(&why);
  if (!m_) throw RuntimeError(op, "ERR_MOONTRAIN_MPI_UNAVAILABLE", why);
  const mpi::Handle world = m_->c.comm_world;
  int flag = 0;
  m_->finalized(&flag);
  if (flag) throw RuntimeError(op, "ERR_MOONTRAIN_MPI", "MPI was already finalized in this process (an MPI communicator cannot be opened twice)");
  m_->initialized(&flag);
  if (!flag) {
    int provided = 0;
    check(m_->init_thread(kThreadFunneled, &provided), "MPI_Init_thread", op);
  }
  check(m_->comm_set_errhandler(world, m_->c.errors_return), "MPI_Comm_set_errhandler", op);
  check(m_->comm_rank(world, &rank_), "MPI_Comm_rank", op);
  check(m_->comm_size(world, &size_), "MPI_Comm_size", op);
  if ((expect_size >= 0 && expect_size != size_) || (expect_rank >= 0 && expect_rank != rank_))
    throw RuntimeError(op, "ERR_MOONTRAIN_MPI",
                       "the launcher's environment says rank " + std::to_string(expect_rank) + " of " + std::to_string(expect_size) +
                           " but MPI's world says rank " + std::to_string(rank_) + " of " + std::to_string(size_));

  // World rank 0's job name for everyone.
  char name[kNameBytes] = {0};
  if (rank_ == 0) std::strncpy(name, job.c_str(), kNameBytes - 1);
  check(m_->bcast(name, kNameBytes, m_->c.byte, 0, world), "MPI_Bcast", op);
  job_ = name;

  // Who shares a host with whom: [leader (the host's lowest world rank), local rank, local size].
  mpi::Handle shared = 0;
  check(m_->comm_split_type(world, m_->c.comm_type_shared, rank_, m_->c.info_null, &shared), "MPI_Comm_split_type", op);
  int me[3] = {rank_, 0, 1};
  check(m_->comm_rank(shared, &me[1]), "MPI_Comm_rank", op);
  check(m_->comm_size(shared, &me[2]), "MPI_Comm_size", op);
  check(m_->bcast(&me[0], 1, m_->c.int_, 0, shared), "MPI_Bcast", op);
  check(m_->comm_free(&shared), "MPI_Comm_free", op);
  std::vector<int> all(static_cast<size_t>(3 * size_));
  check(m_->allgather(me, 3, m_->c.int_, all.data(), 3, m_->c.int_, world), "MPI_Allgather", op);
  char my_host[kNameBytes + 1] = {0};
  int len = 0;
  check(m_->get_processor_name(my_host, &len), "MPI_Get_processor_name", op);
  std::vector<char> hosts_of_ranks(static_cast<size_t>(kNameBytes) * size_);
  check(m_->allgather(my_host, kNameBytes, m_->c.byte, hosts_of_ranks.data(), kNameBytes, m_->c.byte, world), "MPI_Allgather", op);
  for (int r = 0; r < size_; ++r) rank_hosts_.emplace_back(hosts_of_ranks.data() + static_cast<size_t>(r) * kNameBytes);

  std::vector<int> leaders;
  bool uniform = true;
  for (int r = 0; r < size_; ++r) {
    leaders.push_back(all[3 * r]);
    uniform = uniform && all[3 * r + 2] == me[2];
  }
  std::sort(leaders.begin(), leaders.end());
  leaders.erase(std::unique(leaders.begin(), leaders.end()), leaders.end());
  place_.hosts = static_cast<int>(leaders.size());
  place_.local_size = me[2];
  place_.local_rank = me[1];
  place_.host = static_cast<int>(std::lower_bound(leaders.begin(), leaders.end(), me[0]) - leaders.begin());
  for (int l : leaders) place_.host_names.push_back(rank_hosts_[static_cast<size_t>(l)]);

  if (mode == MpiMode::Hierarchical && uniform) {
    place_.mode = "hier";
    H_ = place_.hosts;
    L_ = place_.local_size;
    me_h_ = place_.host;
    me_l_ = place_.local_rank;
    grid_.assign(static_cast<size_t>(size_), -1);
    for (int r = 0; r < size_; ++r) {
      const int h = static_cast<int>(std::lower_bound(leaders.begin(), leaders.end(), all[3 * r]) - leaders.begin());
      grid_[static_cast<size_t>(h * L_ + all[3 * r + 1])] = r;
    }
  } else {
    place_.mode = "mpi";
    H_ = size_;
    L_ = 1;
    me_h_ = rank_;
    me_l_ = 0;
    grid_.resize(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) grid_[static_cast<size_t>(r)] = r;
  }
  check(m_->comm_split(world, me_l_, me_h_, &cross_), "MPI_Comm_split", op);
  check(m_->comm_set_errhandler(cross_, m_->c.errors_return), "MPI_Comm_set_errhandler", op);
  for (int i = 0; i < 2; ++i) {
    check(m_->type_contiguous(i == 0 ? 4 : 2, m_->c.byte, &types_[i]), "MPI_Type_contiguous", op);
    check(m_->type_commit(&types_[i]), "MPI_Type_commit", op);
  }
  if (L_ > 1) {
    try {
      ring_ = std::make_unique<Communicator>(job_ + "-host" + std::to_string(me_h_), me_l_, L_, shm_options);
    } catch (const CommError& e) {
      throw CommError(e.op, e.code, std::string(e.what()) + " (on host '" + rank_hosts_[static_cast<size_t>(rank_)] + "')", -1);
    }
  }
  check(m_->barrier(world), "MPI_Barrier", op);
  g_current = this;
}

MpiCommunicator::~MpiCommunicator() {
  if (ring_) ring_->close();
  if (g_current == this) g_current = nullptr;
}

template <typename Step>
void MpiCommunicator::on_ring(const char* op, Step&& step) {
  (void)op;
  try {
    step();
  } catch (const CommError& e) {
    const int w = e.failed_rank >= 0 && e.failed_rank < L_ ? world_of(me_h_, e.failed_rank) : -1;
    std::string where = "host '" + rank_hosts_[static_cast<size_t>(rank_)] + "'";
    if (w >= 0) where += ": its ring rank " + std::to_string(e.failed_rank) + " is world rank " + std::to_string(w);
    throw CommError(e.op, e.code, std::string(e.what()) + " (" + where + ")", w);
  }
}

mpi::Handle MpiCommunicator::element_type(DType dtype) { return types_[dtype_size(dtype) == 4 ? 0 : 1]; }

std::vector<int64_t> MpiCommunicator::part_counts(const std::vector<int64_t>& counts, int l) const {
  std::vector<int64_t> c(static_cast<size_t>(H_));
  for (int h = 0; h < H_; ++h) c[static_cast<size_t>(h)] = counts[static_cast<size_t>(world_of(h, l))];
  return c;
}

void MpiCommunicator::cross_reduce_scatter(const char* op, const void* part, void* out, DType dtype,
                                           const std::vector<int64_t>& chunk_counts) {
  std::vector<int> rc(static_cast<size_t>(H_));
  int64_t total = 0;
  for (int h = 0; h < H_; ++h) {
    rc[static_cast<size_t>(h)] = to_int(chunk_counts[static_cast<size_t>(h)], op);
    total += chunk_counts[static_cast<size_t>(h)];
  }
  const int64_t mine = chunk_counts[static_cast<size_t>(me_h_)];
  if (dtype == DType::F32) {
    const char* p = static_cast<const char*>(part);
    char* o = static_cast<char*>(out);
    const bool overlap = o < p + total * 4 && p < o + mine * 4;
    sums_.resize(static_cast<size_t>(overlap ? mine : 0));
    void* dst = overlap ? static_cast<void*>(sums_.data()) : out;
    check(m_->reduce_scatter(part, dst, rc.data(), m_->c.float_, m_->c.sum, cross_), "MPI_Reduce_scatter", op);
    if (overlap && mine) std::memcpy(out, sums_.data(), static_cast<size_t>(mine) * 4);
    return;
  }
  widened_.resize(static_cast<size_t>(total));
  widen_to_f32(widened_.data(), part, dtype, total);
  sums_.resize(static_cast<size_t>(mine));
  check(m_->reduce_scatter(widened_.data(), sums_.data(), rc.data(), m_->c.float_, m_->c.sum, cross_), "MPI_Reduce_scatter", op);
  for (int64_t i = 0; i < mine; ++i) store_from_f32(out, dtype, i, sums_[static_cast<size_t>(i)]);
}

void MpiCommunicator::cross_all_gather(const char* op, const void* in, void* part, DType dtype, const std::vector<int64_t>& chunk_counts) {
  std::vector<int> rc(static_cast<size_t>(H_)), displs(static_cast<size_t>(H_));
  int64_t at = 0;
  for (int h = 0; h < H_; ++h) {
    rc[static_cast<size_t>(h)] = to_int(chunk_counts[static_cast<size_t>(h)], op);
    displs[static_cast<size_t>(h)] = to_int(at, op);
    at += chunk_counts[static_cast<size_t>(h)];
  }
  const mpi::Handle t = element_type(dtype);
  const char* mine = static_cast<const char*>(part) + static_cast<size_t>(displs[static_cast<size_t>(me_h_)]) * dtype_size(dtype);
  const void* send = in == mine ? m_->c.in_place : in;
  check(m_->allgatherv(send, rc[static_cast<size_t>(me_h_)], t, part, rc.data(), displs.data(), t, cross_), "MPI_Allgatherv", op);
}

void MpiCommunicator::reduce_scatter_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) {
  const char* op = "reduceScatterV";
  check_usable(op);
  const size_t esz = dtype_size(dtype);
  const std::vector<int64_t> off = offsets_of(counts);
  bytes_.reduce_scatter += static_cast<uint64_t>(off.back()) * esz;
  if (size_ == 1) {
    if (out != in) std::memmove(out, in, static_cast<size_t>(counts[0]) * esz);
    return;
  }
  if (H_ == 1) return on_ring(op, [&] { ring_->reduce_scatter_v(in, out, dtype, counts); });
  const void* part = in;
  if (L_ > 1) {
    std::vector<int64_t> local_counts(static_cast<size_t>(L_), 0);
    reordered_.resize(static_cast<size_t>(off.back()) * esz);
    char* at = reordered_.data();
    for (int l = 0; l < L_; ++l)
      for (int h = 0; h < H_; ++h) {
        const int g = world_of(h, l);
        const size_t bytes = static_cast<size_t>(counts[static_cast<size_t>(g)]) * esz;
        if (bytes) std::memcpy(at, static_cast<const char*>(in) + static_cast<size_t>(off[static_cast<size_t>(g)]) * esz, bytes);
        at += bytes;
        local_counts[static_cast<size_t>(l)] += counts[static_cast<size_t>(g)];
      }
    part_.resize(static_cast<size_t>(local_counts[static_cast<size_t>(me_l_)]) * esz);
    on_ring(op, [&] { ring_->reduce_scatter_v(reordered_.data(), part_.data(), dtype, local_counts); });
    part = part_.data();
  }
  cross_reduce_scatter(op, part, out, dtype, part_counts(counts, me_l_));
}

void MpiCommunicator::all_gather_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) {
  const char* op = "allGatherV";
  check_usable(op);
  const size_t esz = dtype_size(dtype);
  const std::vector<int64_t> off = offsets_of(counts);
  bytes_.all_gather += static_cast<uint64_t>(off.back()) * esz;
  if (size_ == 1) {
    if (out != in) std::memmove(out, in, static_cast<size_t>(counts[0]) * esz);
    return;
  }
  if (H_ == 1) return on_ring(op, [&] { ring_->all_gather_v(in, out, dtype, counts); });
  if (L_ == 1) return cross_all_gather(op, in, out, dtype, part_counts(counts, 0));  // world order is host order
  std::vector<int64_t> local_counts(static_cast<size_t>(L_), 0);
  for (int l = 0; l < L_; ++l)
    for (int h = 0; h < H_; ++h) local_counts[static_cast<size_t>(l)] += counts[static_cast<size_t>(world_of(h, l))];
  part_.resize(static_cast<size_t>(local_counts[static_cast<size_t>(me_l_)]) * esz);
  cross_all_gather(op, in, part_.data(), dtype, part_counts(counts, me_l_));
  reordered_.resize(static_cast<size_t>(off.back()) * esz);
  on_ring(op, [&] { ring_->all_gather_v(part_.data(), reordered_.data(), dtype, local_counts); });
  const char* at = reordered_.data();
  for (int l = 0; l < L_; ++l)
    for (int h = 0; h < H_; ++h) {
      const int g = world_of(h, l);
      const size_t bytes = static_cast<size_t>(counts[static_cast<size_t>(g)]) * esz;
      if (bytes) std::memcpy(static_cast<char*>(out) + static_cast<size_t>(off[static_cast<size_t>(g)]) * esz, at, bytes);
      at += bytes;
    }
}

void MpiCommunicator::all_reduce(void* data, DType dtype, int64_t n) {
  check_usable("allReduce");
  const ByteCounters before = bytes_;
  const std::vector<int64_t> counts = Communicator::even_counts(n, size_);
  const std::vector<int64_t> off = offsets_of(counts);
  char* mine = static_cast<char*>(data) + static_cast<size_t>(off[static_cast<size_t>(rank_)]) * dtype_size(dtype);
  reduce_scatter_v(data, mine, dtype, counts);
  all_gather_v(mine, data, dtype, counts);
  bytes_ = before;
  bytes_.all_reduce += static_cast<uint64_t>(n) * dtype_size(dtype);
}

void MpiCommunicator::broadcast(void* data, DType dtype, int64_t n, int root) {
  const char* op = "broadcast";
  check_usable(op);
  bytes_.broadcast += static_cast<uint64_t>(n) * dtype_size(dtype);
  check(m_->bcast(data, to_int(n, op), element_type(dtype), root, m_->c.comm_world), "MPI_Bcast", op);
}

void MpiCommunicator::barrier() {
  check_usable("barrier");
  check(m_->barrier(m_->c.comm_world), "MPI_Barrier", "barrier");
}

void MpiCommunicator::all_reduce_numbers(double* values, int64_t n, NumbersOp how) {
  const char* op = "allReduceNumbers";
  check_usable(op);
  std::vector<double> all(static_cast<size_t>(n * size_));
  check(m_->allgather(values, to_int(n, op), m_->c.double_, all.data(), to_int(n, op), m_->c.double_, m_->c.comm_world), "MPI_Allgather", op);
  for (int64_t i = 0; i < n; ++i) {
    double acc = all[static_cast<size_t>(i)];
    for (int r = 1; r < size_; ++r) {
      const double v = all[static_cast<size_t>(r * n + i)];
      acc = how == NumbersOp::Sum ? acc + v : std::max(acc, v);
    }
    values[i] = acc;
  }
}

void MpiCommunicator::abort(const std::string& reason) {
  // The ring's peers fail at once; ranks on other hosts when this process exits (the MPI launcher
  // then stops the job).
  if (ring_) ring_->abort(reason);
}

void MpiCommunicator::close() {
  if (closed_) return;
  closed_ = true;
  if (g_current == this) g_current = nullptr;
  if (ring_) ring_->close();
  int finalized = 0;
  m_->finalized(&finalized);
  if (!finalized) m_->finalize();
}

void MpiCommunicator::mark_exiting(int code) {
  if (ring_) ring_->mark_exiting(code);
}

void MpiCommunicator::library_all_gather(const void* in, void* out, int64_t bytes_per_rank) {
  const char* op = "mpiAllGather";
  check_usable(op);
  const mpi::Handle t = bytes_per_rank % 4 == 0 ? types_[0] : m_->c.byte;
  const int n = to_int(bytes_per_rank % 4 == 0 ? bytes_per_rank / 4 : bytes_per_rank, op);
  check(m_->allgather(in, n, t, out, n, t, m_->c.comm_world), "MPI_Allgather", op);
}

void MpiCommunicator::library_reduce_scatter_block(const void* in, void* out, int64_t floats_per_rank) {
  const char* op = "mpiReduceScatterBlock";
  check_usable(op);
  check(m_->reduce_scatter_block(in, out, to_int(floats_per_rank, op), m_->c.float_, m_->c.sum, m_->c.comm_world), "MPI_Reduce_scatter_block",
        op);
}

}  // namespace mt::comm
