// The MPI side of the communicator binding (mpi_binding.cc): the hierarchical and flat MPI
// communicators behind the same JS NativeCommunicator class, and info about the MPI library.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "../comm/collectives.h"
#include "../comm/communicator.h"

namespace mt::napi {

// options.backend: 'shm' (default: the ring of one host), 'hier' (MPI across hosts, rings
// inside) or 'mpi' (every collective through MPI). Returns null for 'shm'.
std::unique_ptr<comm::Collectives> make_mpi_collectives(const Napi::Object& options, const std::string& job, int rank, int size,
                                                        const comm::Options& shm_options, const char* op);
// Adds backend, hosts, host, hostName, localRank, localSize to a communicator's geometry.
void add_mpi_geometry(Napi::Env env, Napi::Object geometry, const comm::Collectives* c);
// mpiInfo(), mpiLibraryAllGather(input, output), mpiLibraryReduceScatterBlock(input, output).
void RegisterMpi(Napi::Env env, Napi::Object exports);

}  // namespace mt::napi
