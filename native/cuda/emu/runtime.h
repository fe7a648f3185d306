// The emulated build's kernel launch (runtime.cc), used by launch.h under g++: runs every block
// of the kernel on the emulator before returning; a defect the emulator reports becomes the
// thread's cudaErrorLaunchFailure (cudaGetLastError), with the emulator's message.
#pragma once

#include <cuda_runtime.h>

#include <functional>

namespace mt::emu {

void runtime_launch(const char* kernel, dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()>& body);

}  // namespace mt::emu
