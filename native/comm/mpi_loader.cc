// Opens the MPI library (dlopen) and binds the calls of mpi_abi.h for its ABI.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mpi_abi.h"

namespace mt::comm::mpi {

namespace {

// The calls with the ABI's handle type H (void* for Open MPI, int for MPICH).
template <typename H>
class AbiCalls final : public Mpi {
 public:
  using Fn = void*;
  static H h(Handle x) {
    if constexpr (std::is_pointer_v<H>) return reinterpret_cast<H>(x);
    else return static_cast<H>(static_cast<uint32_t>(x));
  }
  static Handle u(H x) {
    if constexpr (std::is_pointer_v<H>) return reinterpret_cast<Handle>(x);
    else return static_cast<Handle>(static_cast<uint32_t>(x));
  }

  // Binds every symbol; false (and *missing) when one is absent.
  bool bind(void* lib, std::string* missing) {
    auto get = [&](auto& fn, const char* name) {
      void* p = dlsym(lib, name);
      if (!p && missing->empty()) *missing = name;
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    };
    get(initialized_, "MPI_Initialized");
    get(finalized_, "MPI_Finalized");
    get(init_thread_, "MPI_Init_thread");
    get(finalize_, "MPI_Finalize");
    get(abort_, "MPI_Abort");
    get(comm_rank_, "MPI_Comm_rank");
    get(comm_size_, "MPI_Comm_size");
    get(comm_split_, "MPI_Comm_split");
    get(comm_split_type_, "MPI_Comm_split_type");
    get(comm_free_, "MPI_Comm_free");
    get(comm_set_errhandler_, "MPI_Comm_set_errhandler");
    get(type_contiguous_, "MPI_Type_contiguous");
    get(type_commit_, "MPI_Type_commit");
    get(allgather_, "MPI_Allgather");
    get(allgatherv_, "MPI_Allgatherv");
    get(reduce_scatter_, "MPI_Reduce_scatter");
    get(reduce_scatter_block_, "MPI_Reduce_scatter_block");
    get(bcast_, "MPI_Bcast");
    get(barrier_, "MPI_Barrier");
    get(get_processor_name_, "MPI_Get_processor_name");
    get(error_string_, "MPI_Error_string");
    return missing->empty();
  }

  int initialized(int* flag) const override { return initialized_(flag); }
  int finalized(int* flag) const override { return finalized_(flag); }
  int init_thread(int required, int* provided) const override { return init_thread_(nullptr, nullptr, required, provided); }
  int finalize() const override { return finalize_(); }
  int abort(Handle comm, int code) const override { return abort_(h(comm), code); }
  int comm_rank(Handle comm, int* rank) const override { return comm_rank_(h(comm), rank); }
  int comm_size(Handle comm, int* size) const override { return comm_size_(h(comm), size); }
  int comm_split(Handle comm, int color, int key, Handle* out) const override {
    H o{};
    const int rc = comm_split_(h(comm), color, key, &o);
    *out = u(o);
    return rc;
  }
  int comm_split_type(Handle comm, int type, int key, Handle info, Handle* out) const override {
    H o{};
    const int rc = comm_split_type_(h(comm), type, key, h(info), &o);
    *out = u(o);
    return rc;
  }
  int comm_free(Handle* comm) const override {
    H o = h(*comm);
    const int rc = comm_free_(&o);
    *comm = u(o);
    return rc;
  }
  int comm_set_errhandler(Handle comm, Handle eh) const override { return comm_set_errhandler_(h(comm), h(eh)); }
  int type_contiguous(int count, Handle old, Handle* out) const override {
    H o{};
    const int rc = type_contiguous_(count, h(old), &o);
    *out = u(o);
    return rc;
  }
  int type_commit(Handle* type) const override {
    H o = h(*type);
    const int rc = type_commit_(&o);
    *type = u(o);
    return rc;
  }
  int allgather(const void* send, int scount, Handle stype, void* recv, int rcount, Handle rtype, Handle comm) const override {
    return allgather_(send, scount, h(stype), recv, rcount, h(rtype), h(comm));
  }
  int allgatherv(const void* send, int scount, Handle stype, void* recv, const int* rcounts, const int* displs, Handle rtype,
                 Handle comm) const override {
    return allgatherv_(send, scount, h(stype), recv, rcounts, displs, h(rtype), h(comm));
  }
  int reduce_scatter(const void* send, void* recv, const int* rcounts, Handle type, Handle op, Handle comm) const override {
    return reduce_scatter_(send, recv, rcounts, h(type), h(op), h(comm));
  }
  int reduce_scatter_block(const void* send, void* recv, int rcount, Handle type, Handle op, Handle comm) const override {
    return reduce_scatter_block_(send, recv, rcount, h(type), h(op), h(comm));
  }
  int bcast(void* buf, int count, Handle type, int root, Handle comm) const override { return bcast_(buf, count, h(type), root, h(comm)); }
  int barrier(Handle comm) const override { return barrier_(h(comm)); }
  int get_processor_name(char* name, int* len) const override { return get_processor_name_(name, len); }
  int error_string(int code, char* text, int* len) const override { return error_string_(code, text, len); }

 private:
  int (*initialized_)(int*) = nullptr;
  int (*finalized_)(int*) = nullptr;
  int (*init_thread_)(int*, char***, int, int*) = nullptr;
  int (*finalize_)() = nullptr;
  int (*abort_)(H, int) = nullptr;
  int (*comm_rank_)(H, int*) = nullptr;
  int (*comm_size_)(H, int*) = nullptr;
  int (*comm_split_)(H, int, int, H*) = nullptr;
  int (*comm_split_type_)(H, int, int, H, H*) = nullptr;
  int (*comm_free_)(H*) = nullptr;
  int (*comm_set_errhandler_)(H, H) = nullptr;
  int (*type_contiguous_)(int, H, H*) = nullptr;
  int (*type_commit_)(H*) = nullptr;
  int (*allgather_)(const void*, int, H, void*, int, H, H) = nullptr;
  int (*allgatherv_)(const void*, int, H, void*, const int*, const int*, H, H) = nullptr;
  int (*reduce_scatter_)(const void*, void*, const int*, H, H, H) = nullptr;
  int (*reduce_scatter_block_)(const void*, void*, int, H, H, H) = nullptr;
  int (*bcast_)(void*, int, H, int, H) = nullptr;
  int (*barrier_)(H) = nullptr;
  int (*get_processor_name_)(char*, int*) = nullptr;
  int (*error_string_)(int, char*, int*) = nullptr;
};

// Open MPI's constants: addresses of its predefined objects.
bool openmpi_constants(void* lib, Constants* c, std::string* missing) {
  auto addr = [&](const char* name) {
    void* p = dlsym(lib, name);
    if (!p && missing->empty()) *missing = name;
    return reinterpret_cast<Handle>(p);
  };
  c->comm_world = addr("ompi_mpi_comm_world");
  c->comm_null = addr("ompi_mpi_comm_null");
  c->byte = addr("ompi_mpi_byte");
  c->int_ = addr("ompi_mpi_int");
  c->float_ = addr("ompi_mpi_float");
  c->double_ = addr("ompi_mpi_double");
  c->sum = addr("ompi_mpi_op_sum");
  c->max = addr("ompi_mpi_op_max");
  c->info_null = addr("ompi_mpi_info_null");
  c->errors_return = addr("ompi_mpi_errors_return");
  c->comm_type_shared = 0;
  c->in_place = reinterpret_cast<void*>(1);
  return missing->empty();
}

// MPICH's constants: the integers of its mpi.h.
Constants mpich_constants() {
  Constants c;
  c.comm_world = 0x44000000;
  c.comm_null = 0x04000000;
  c.byte = 0x4c00010d;
  c.int_ = 0x4c000405;
  c.float_ = 0x4c00040a;
  c.double_ = 0x4c00080b;
  c.sum = 0x58000003;
  c.max = 0x58000001;
  c.info_null = 0x1c000000;
  c.errors_return = 0x54000001;
  c.comm_type_shared = 1;
  c.in_place = reinterpret_cast<void*>(-1);
  return c;
}

std::string first_line(const char* s) {
  std::string v(s);
  const size_t nl = v.find('\n');
  if (nl != std::string::npos) v.resize(nl);
  while (!v.empty() && (v.back() == ' ' || v.back() == ',')) v.pop_back();
  return v;
}

// Opens `file` and recognizes its ABI; nullptr with *why on failure.
std::unique_ptr<Mpi> open_library(const std::string& file, std::string* why) {
  // Open MPI loads its components (dlopen'ed plugins) that resolve MPI symbols globally.
  void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    const char* e = dlerror();
    *why = e ? e : "dlopen failed";
    return nullptr;
  }
  using VersionFn = int (*)(char*, int*);
  auto get_version = reinterpret_cast<VersionFn>(dlsym(lib, "MPI_Get_library_version"));
  if (!get_version) {
    *why = file + ": no MPI_Get_library_version (not an MPI-3 library)";
    return nullptr;
  }
  std::vector<char> text(8192 + 1, 0);  // MPICH's MPI_MAX_LIBRARY_VERSION_STRING (Open MPI's is 256)
  int len = 0;
  get_version(text.data(), &len);
  std::string missing;
  std::unique_ptr<Mpi> m;
  if (dlsym(lib, "ompi_mpi_comm_world")) {
    auto calls = std::make_unique<AbiCalls<void*>>();
    if (calls->bind(lib, &missing) && openmpi_constants(lib, &calls->c, &missing)) m = std::move(calls);
    if (m) m->abi = Abi::OpenMPI;
  } else if (std::strstr(text.data(), "MPICH") || std::strstr(text.data(), "Intel") || std::strstr(text.data(), "MVAPICH")) {
    auto calls = std::make_unique<AbiCalls<int>>();
    if (calls->bind(lib, &missing)) m = std::move(calls);
    if (m) {
      m->c = mpich_constants();
      m->abi = Abi::MPICH;
    }
  } else {
    *why = file + ": neither Open MPI's ABI (ompi_mpi_comm_world) nor MPICH's (library version '" + first_line(text.data()) + "')";
    return nullptr;
  }
  if (!m) {
    *why = file + ": missing symbol " + missing;
    return nullptr;
  }
  m->path = file;
  m->version = first_line(text.data());
  return m;
}

}  // namespace

const Mpi* library(std::string* why) {
  static std::once_flag once;
  static std::unique_ptr<Mpi> lib;
  static std::string failure;
  std::call_once(once, [] {
    std::vector<std::string> files;
    const char* env = std::getenv("MOONTRAIN_MPI_LIB");
    if (env && *env) files.push_back(env);
    else if (std::getenv("PMI_RANK") && !std::getenv("OMPI_COMM_WORLD_SIZE"))
      files = {"libmpi.so.12", "libmpich.so.12", "libmpi.so.40"};  // started by MPICH's Hydra (or another PMI launcher)
    else
      files = {"libmpi.so.40", "libmpi.so.12", "libmpich.so.12"};
    for (const std::string& f : files) {
      std::string w;
      lib = open_library(f, &w);
      if (lib) return;
      failure += (failure.empty() ? "" : "; ") + w;
    }
    failure = (env && *env ? "MOONTRAIN_MPI_LIB: " : "no MPI library found: ") + failure;
  });
  if (!lib && why) *why = failure;
  return lib.get();
}

std::string error_text(const Mpi& m, const char* call, int code) {
  char text[1024] = {0};  // MPI_MAX_ERROR_STRING is 256 (Open MPI) or 512 (MPICH)
  int len = 0;
  if (m.error_string(code, text, &len) != 0) std::snprintf(text, sizeof text, "error code %d", code);
  return std::string(call) + " failed: " + text;
}

}  // namespace mt::comm::mpi
