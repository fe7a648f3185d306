// MPI, opened at run time (dlopen) so the addon loads without it. Two ABIs exist and moontrain
// speaks both, explicitly:
//   Open MPI (libmpi.so.40): handles (MPI_Comm, MPI_Datatype, MPI_Op, ...) are pointers to the
//     library's own globals (MPI_COMM_WORLD is &ompi_mpi_comm_world), found here with dlsym;
//     MPI_IN_PLACE is (void*)1, MPI_COMM_TYPE_SHARED 0. Its plugins need RTLD_GLOBAL.
//   MPICH (libmpi.so.12 / libmpich.so.12; also Intel MPI, MVAPICH): handles are ints fixed by
//     its mpi.h (MPI_COMM_WORLD 0x44000000, ...); MPI_IN_PLACE is (void*)-1, MPI_COMM_TYPE_SHARED 1.
// Mpi is the library behind one interface: handles are carried as Handle (uintptr_t) and
// converted to the ABI's own type (a pointer or an int) at each call (AbiCalls in mpi_loader.cc).
#pragma once
#include <cstdint>
#include <string>

namespace mt::comm::mpi {

using Handle = uintptr_t;  // an MPI_Comm, MPI_Datatype, MPI_Op, MPI_Info or MPI_Errhandler

enum class Abi { OpenMPI, MPICH };

struct Constants {
  Handle comm_world = 0, comm_null = 0;
  Handle byte = 0, int_ = 0, float_ = 0, double_ = 0;
  Handle sum = 0, max = 0;
  Handle info_null = 0, errors_return = 0;
  int comm_type_shared = 0;
  void* in_place = nullptr;
};

// What moontrain calls, with the ABI's handle type hidden. Each returns the MPI error code.
class Mpi {
 public:
  virtual ~Mpi() = default;
  Abi abi;
  Constants c;
  std::string path;     // the file opened
  std::string version;  // MPI_Get_library_version's first line

  virtual int initialized(int* flag) const = 0;
  virtual int finalized(int* flag) const = 0;
  virtual int init_thread(int required, int* provided) const = 0;
  virtual int finalize() const = 0;
  virtual int abort(Handle comm, int code) const = 0;
  virtual int comm_rank(Handle comm, int* rank) const = 0;
  virtual int comm_size(Handle comm, int* size) const = 0;
  virtual int comm_split(Handle comm, int color, int key, Handle* out) const = 0;
  virtual int comm_split_type(Handle comm, int type, int key, Handle info, Handle* out) const = 0;
  virtual int comm_free(Handle* comm) const = 0;
  virtual int comm_set_errhandler(Handle comm, Handle eh) const = 0;
  virtual int type_contiguous(int count, Handle old, Handle* out) const = 0;
  virtual int type_commit(Handle* type) const = 0;
  virtual int allgather(const void* send, int scount, Handle stype, void* recv, int rcount, Handle rtype, Handle comm) const = 0;
  virtual int allgatherv(const void* send, int scount, Handle stype, void* recv, const int* rcounts, const int* displs, Handle rtype,
                         Handle comm) const = 0;
  virtual int reduce_scatter(const void* send, void* recv, const int* rcounts, Handle type, Handle op, Handle comm) const = 0;
  virtual int reduce_scatter_block(const void* send, void* recv, int rcount, Handle type, Handle op, Handle comm) const = 0;
  virtual int bcast(void* buf, int count, Handle type, int root, Handle comm) const = 0;
  virtual int barrier(Handle comm) const = 0;
  virtual int get_processor_name(char* name, int* len) const = 0;
  virtual int error_string(int code, char* text, int* len) const = 0;
};

// The MPI library of this process, opened on first use: MOONTRAIN_MPI_LIB if set, else Open
// MPI's libmpi.so.40, else MPICH's libmpi.so.12 / libmpich.so.12 (MPICH's first when a PMI
// launcher such as Hydra started the process). nullptr when none could be opened; then *why
// says what was tried and what failed.
const Mpi* library(std::string* why);

// "MPI_Xxx failed: <the library's error string>".
std::string error_text(const Mpi& m, const char* call, int code);

}  // namespace mt::comm::mpi
