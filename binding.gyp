{
  # CPU-only build with node-gyp (the build of record is cmake-js: CMakeLists.txt). The ISA
  # files are static libraries of their own so their -m flags cannot reach shared code.
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-O3", "-march=x86-64-v3", "-fno-trapping-math", "-fvisibility=hidden", "-fPIC"],
    "defines": ["NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_ADDON_API_CPP_EXCEPTIONS",
                "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"]
  },
  "targets": [
    {
      "target_name": "moontrain_isa_baseline",
      "type": "static_library",
      "sources": ["native/core/isa.cc"],
      "cflags_cc": ["-march=x86-64"]
    },
    {
      "target_name": "moontrain_isa_avx512",
      "type": "static_library",
      "sources": ["native/cpu/gemm_avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl"]
    },
    {
      "target_name": "moontrain_isa_avx512bf16",
      "type": "static_library",
      "sources": ["native/cpu/gemm_avx512bf16.cc", "<!@(ls -1 native/cpu/nn/*_avx512bf16.cc)"],
      "cflags_cc": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx512bf16"]
    },
    {
      "target_name": "moontrain_isa_amx",
      "type": "static_library",
      "sources": ["native/cpu/gemm_amx.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-mamx-tile", "-mamx-bf16"]
    },
    {
      "target_name": "moontrain",
      "dependencies": ["moontrain_isa_baseline", "moontrain_isa_avx512", "moontrain_isa_avx512bf16", "moontrain_isa_amx"],
      "sources": [
        "native/core/tensor.cc", "native/core/host_allocator.cc", "native/core/thread_pool.cc", "native/core/no_cuda.cc",
        "native/cpu/gemm_reference.cc", "native/cpu/gemm_dispatch.cc", "native/cpu/gemm_blocked.cc", "native/cpu/pack_f32.cc",
        "native/cpu/gemm_avx2.cc",
        "native/cpu/matmul.cc", "native/cpu/grouped_matmul.cc", "native/cpu/grouped_weight_grad.cc",
        "native/cpu/newton_schulz.cc", "native/cpu/op_table.cc",
        "<!@(ls -1 native/cpu/nn/*.cc | grep -v _avx512)",
        "native/napi/addon.cc", "native/napi/tensor_object.cc", "native/napi/args.cc", "native/napi/validate.cc",
        "native/napi/op_registry.cc", "native/napi/tensor_binding.cc", "native/napi/runtime_binding.cc",
        "<!@(ls -1 native/napi/ops/*.cc)",
        "native/comm/communicator.cc", "native/comm/ring.cc", "native/comm/kernels.cc",
        "native/comm/direct.cc",
        "native/napi/comm_binding.cc",
        "native/comm/mpi_loader.cc", "native/comm/mpi_communicator.cc", "native/napi/mpi_binding.cc"
      ],
      "ldflags": ["-Wl,--exclude-libs,ALL", "-pthread"],
      "libraries": ["-lrt"]
    }
  ]
}
