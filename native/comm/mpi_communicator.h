// Collectives across hosts: MPI between hosts, the shared-memory ring inside each.
//
// Ranks are the MPI world's. They are grouped by host with MPI_Comm_split_type(SHARED); with H
// hosts of L ranks each, host h's local rank l is world rank grid(h, l). A reduce-scatter over
// the world's counts runs in two steps: inside each host, the ring reduce-scatters a copy of the
// input reordered so that local rank l's part is the chunks of grid(0, l), grid(1, l), ...; then
// the ranks with the same local rank (one per host) reduce-scatter that part over MPI, each
// keeping its own chunk. The all-gather is the same backwards (MPI across, the ring inside, then
// back to world order). The result's layout is the world's flat one, whatever the grouping.
// Sums are in fp32; with bf16 data the ring's per-host sums are rounded to bf16, widened for the
// MPI step and rounded again at the end.
//
// Flat mode (MOONTRAIN_COMM=mpi) runs every collective through MPI on the world (L = 1). Hosts
// with different numbers of ranks also run flat.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "collectives.h"
#include "communicator.h"
#include "mpi_abi.h"

namespace mt::comm {

enum class MpiMode { Hierarchical, Flat };

// Where this rank runs (hosts as MPI_COMM_TYPE_SHARED groups them, in the order of their lowest
// world rank), and which algorithm the job uses.
struct MpiPlacement {
  int hosts = 1, local_size = 1, host = 0, local_rank = 0;
  std::string mode;                     // "hier" or "mpi"
  std::vector<std::string> host_names;  // by host index
};

class MpiCommunicator final : public Collectives {
 public:
  // Joins the MPI world (MPI_Init on first use). expect_rank / expect_size (when >= 0) are what
  // the launcher's environment said; a different MPI world is an error. `job` of world rank 0
  // names the job on every rank; each host's ring is `<job>-host<h>`.
  MpiCommunicator(const std::string& job, int expect_rank, int expect_size, MpiMode mode, const Options& shm_options);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const std::string& job() const override { return job_; }
  const MpiPlacement& placement() const { return place_; }

  void all_gather_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) override;
  void reduce_scatter_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) override;
  void all_reduce(void* data, DType dtype, int64_t n) override;
  void broadcast(void* data, DType dtype, int64_t n, int root) override;
  void barrier() override;
  void all_reduce_numbers(double* values, int64_t n, NumbersOp op) override;
  ByteCounters bytes() const override { return bytes_; }
  void reset_bytes() override { bytes_ = ByteCounters{}; }
  void abort(const std::string& reason) override;
  void close() override;
  void mark_exiting(int code) override;
  bool closed() const override { return closed_; }
  const MpiCommunicator* as_mpi() const override { return this; }
  // The open MPI communicator of this process (MPI is initialized once), or null.
  static MpiCommunicator* current();

  // The MPI library's own collectives on the world, for the benchmark (same buffers, same ranks).
  void library_all_gather(const void* in, void* out, int64_t bytes_per_rank);
  void library_reduce_scatter_block(const void* in, void* out, int64_t floats_per_rank);

 private:
  int world_of(int host, int local) const { return grid_[static_cast<size_t>(host * L_ + local)]; }
  void check(int rc, const char* call, const char* op) const;
  void check_usable(const char* op) const;
  mpi::Handle element_type(DType dtype);
  // Runs a step of the ring, naming the world rank and host of a failed peer.
  template <typename Step>
  void on_ring(const char* op, Step&& step);
  // The chunk counts of local rank l's part (one per host) and its total.
  std::vector<int64_t> part_counts(const std::vector<int64_t>& counts, int l) const;
  // MPI over the ranks of this local rank (one per host): sum of `part` (hosts' chunks in host
  // order) into `out` (this host's chunk).
  void cross_reduce_scatter(const char* op, const void* part, void* out, DType dtype, const std::vector<int64_t>& chunk_counts);
  void cross_all_gather(const char* op, const void* in, void* part, DType dtype, const std::vector<int64_t>& chunk_counts);

  const mpi::Mpi* m_ = nullptr;
  std::string job_;
  int rank_ = 0, size_ = 1;
  MpiPlacement place_;
  int H_ = 1, L_ = 1, me_h_ = 0, me_l_ = 0;  // the grouping the algorithm uses (flat: L_ = 1)
  std::vector<int> grid_;                    // world rank of (host, local rank)
  std::vector<std::string> rank_hosts_;      // host name of each world rank
  mpi::Handle cross_ = 0;       // the ranks with this local rank, ordered by host
  mpi::Handle types_[2] = {0, 0};  // contiguous types of 4 and 2 bytes
  std::unique_ptr<Communicator> ring_;  // this host's ring (null with one rank per host)
  std::vector<char> reordered_, part_;
  std::vector<float> widened_, sums_;
  ByteCounters bytes_;
  bool closed_ = false;
};

}  // namespace mt::comm
