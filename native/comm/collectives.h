// The collectives a job's ranks call, whichever transport carries them: the shared-memory ring
// of one host (Communicator), or MPI across hosts with the rings inside each (HierCommunicator).
// The N-API binding and ZeRO-1 see only this interface.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../core/dtype.h"

namespace mt::comm {

class Communicator;
class MpiCommunicator;

struct ByteCounters {
  uint64_t all_gather = 0, reduce_scatter = 0, all_reduce = 0, broadcast = 0;
};

enum class NumbersOp { Sum, Max };

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const std::string& job() const = 0;
  // out holds sum(counts) elements; rank r's counts[r] elements land at offset sum(counts[<r]).
  // in == out + that offset means in place.
  virtual void all_gather_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) = 0;
  // in holds sum(counts) elements; out (counts[rank] elements) gets the sum over ranks of this
  // rank's slice. out == in + the slice's offset means in place.
  virtual void reduce_scatter_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) = 0;
  virtual void all_reduce(void* data, DType dtype, int64_t n) = 0;
  virtual void broadcast(void* data, DType dtype, int64_t n, int root) = 0;
  virtual void barrier() = 0;
  // In place, in double, in rank order (the same bits on every rank).
  virtual void all_reduce_numbers(double* values, int64_t n, NumbersOp op) = 0;
  virtual ByteCounters bytes() const = 0;
  virtual void reset_bytes() = 0;
  virtual void abort(const std::string& reason) = 0;
  virtual void close() = 0;
  virtual void mark_exiting(int code) = 0;
  virtual bool closed() const = 0;
  // Which transport this is (the binding describes it; no RTTI in node-gyp builds).
  virtual const Communicator* as_ring() const { return nullptr; }
  virtual const MpiCommunicator* as_mpi() const { return nullptr; }
};

}  // namespace mt::comm
