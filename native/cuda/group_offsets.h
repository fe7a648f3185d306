// The device-side schedule of the grouped GEMMs: the groups' row offsets and row-tile offsets,
// computed on the GPU from the i32 group sizes (group_schedule, kernels/gemm_grouped.cuh). Sizes
// already on the device are never copied back; sizes given on the host are uploaded once.
#pragma once

#include "gemm.h"
#include "launch.h"

namespace mt::cuda {

class GroupOffsets {
 public:
  GroupOffsets(const char* op, const Tensor& sizes) : groups_(int(sizes.numel())), buf_(size_t(3 * groups_ + 2) * sizeof(int32_t)) {
    const int32_t* d = sizes.ptr<int32_t>();
    if (sizes.device() != Device::CUDA) {
      cuda_copy(buf_.as<int32_t>() + 2 * (groups_ + 1), d, size_t(groups_) * sizeof(int32_t), true, false);
      d = buf_.as<int32_t>() + 2 * (groups_ + 1);
    }
    check(op, group_schedule(d, groups_, offsets(), tiles(), nullptr), "launch of group_schedule_kernel");
  }
  int groups() const { return groups_; }
  int32_t* offsets() const { return buf_.as<int32_t>(); }          // groups + 1 row offsets
  int32_t* tiles() const { return buf_.as<int32_t>() + groups_ + 1; }  // groups + 1 row-tile offsets

 private:
  int groups_;
  DeviceBuffer buf_;
};

}  // namespace mt::cuda
