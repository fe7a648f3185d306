// Binding of the MPI communicators (native/comm/mpi_communicator.h) and of the MPI library's
// own collectives (for the benchmark).
#include "mpi_binding.h"

#include "../comm/mpi_abi.h"
#include "../comm/mpi_communicator.h"
#include "args.h"
#include "errors.h"
#include "tensor_object.h"

namespace mt::napi {

namespace {

comm::MpiCommunicator& live(const char* op) {
  comm::MpiCommunicator* c = comm::MpiCommunicator::current();
  if (!c) throw RuntimeError(op, "ERR_MOONTRAIN_COMM_CLOSED", "no open MPI communicator in this process (init() under mpirun opens one)");
  return *c;
}

Napi::Value MpiInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  std::string why;
  const comm::mpi::Mpi* m = comm::mpi::library(&why);
  o.Set("available", Napi::Boolean::New(env, m != nullptr));
  if (m) {
    o.Set("library", Napi::String::New(env, m->abi == comm::mpi::Abi::OpenMPI ? "Open MPI" : "MPICH"));
    o.Set("abi", Napi::String::New(env, m->abi == comm::mpi::Abi::OpenMPI ? "openmpi" : "mpich"));
    o.Set("path", Napi::String::New(env, m->path));
    o.Set("version", Napi::String::New(env, m->version));
  } else {
    o.Set("reason", Napi::String::New(env, why));
  }
  return o;
}

// Same-size tensors on every rank: output holds world size x input's bytes (all-gather), or input
// holds world size x output's elements (reduce-scatter, f32).
Napi::Value LibraryAllGather(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "mpiLibraryAllGather";
    comm::MpiCommunicator& c = live(op);
    const Tensor& in = tensor_arg(info[0], op, "input");
    const Tensor& out = tensor_arg(info[1], op, "output");
    if (out.nbytes() != in.nbytes() * static_cast<size_t>(c.size()))
      throw ArgError(op, "output", std::to_string(in.nbytes() * static_cast<size_t>(c.size())) + " bytes (world size x input)",
                     std::to_string(out.nbytes()) + " bytes");
    c.library_all_gather(in.data(), out.data(), static_cast<int64_t>(in.nbytes()));
    return info[1];
  });
}

Napi::Value LibraryReduceScatterBlock(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "mpiLibraryReduceScatterBlock";
    comm::MpiCommunicator& c = live(op);
    const Tensor& in = tensor_arg(info[0], op, "input");
    const Tensor& out = tensor_arg(info[1], op, "output");
    if (in.dtype != DType::F32 || out.dtype != DType::F32) throw ArgError(op, "input", "f32 tensors", dtype_name(in.dtype));
    if (in.numel() != out.numel() * c.size())
      throw ArgError(op, "input", std::to_string(out.numel() * c.size()) + " elements (world size x output)", std::to_string(in.numel()));
    c.library_reduce_scatter_block(in.data(), out.data(), out.numel());
    return info[1];
  });
}

}  // namespace

std::unique_ptr<comm::Collectives> make_mpi_collectives(const Napi::Object& options, const std::string& job, int rank, int size,
                                                        const comm::Options& shm_options, const char* op) {
  Napi::Value v = options.Get("backend");
  const std::string backend = v.IsUndefined() ? "shm" : v.IsString() ? v.As<Napi::String>().Utf8Value() : "?";
  if (backend == "shm") return nullptr;
  if (backend != "hier" && backend != "mpi") throw ArgError(op, "options", "backend to be 'shm', 'hier' or 'mpi'", describe(v));
  const comm::MpiMode mode = backend == "hier" ? comm::MpiMode::Hierarchical : comm::MpiMode::Flat;
  return std::make_unique<comm::MpiCommunicator>(job, rank, size, mode, shm_options);
}

void add_mpi_geometry(Napi::Env env, Napi::Object g, const comm::Collectives* c) {
  const comm::MpiCommunicator* m = c ? c->as_mpi() : nullptr;
  if (!m) {
    g.Set("backend", Napi::String::New(env, "shm"));
    return;
  }
  const comm::MpiPlacement& p = m->placement();
  g.Set("backend", Napi::String::New(env, p.mode));
  g.Set("hosts", Napi::Number::New(env, p.hosts));
  g.Set("host", Napi::Number::New(env, p.host));
  g.Set("hostName", Napi::String::New(env, p.host_names[static_cast<size_t>(p.host)]));
  g.Set("localRank", Napi::Number::New(env, p.local_rank));
  g.Set("localSize", Napi::Number::New(env, p.local_size));
}

void RegisterMpi(Napi::Env env, Napi::Object exports) {
  exports.Set("mpiInfo", Napi::Function::New<MpiInfo>(env, "mpiInfo"));
  exports.Set("mpiLibraryAllGather", Napi::Function::New<LibraryAllGather>(env, "mpiLibraryAllGather"));
  exports.Set("mpiLibraryReduceScatterBlock", Napi::Function::New<LibraryReduceScatterBlock>(env, "mpiLibraryReduceScatterBlock"));
}

}  // namespace mt::napi
