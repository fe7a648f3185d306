// Bindings of RoPE: read and validate every argument, then call the op table.
#include <cmath>
#include <string>

#include "../../core/error.h"
#include "../../op_table.h"
#include "../args.h"
#include "../errors.h"
#include "../op_bindings.h"
#include "../tensor_object.h"
#include "../validate.h"

namespace mt::napi {

using std::to_string;

Napi::Value bind_rope(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "rope";
    const Tensor& x = tensor_arg(info[0], op, "x");
    require_rank(x, 3, 3, op, "x");
    const int64_t T = x.shape[0], d = x.shape[2];
    const std::vector<int32_t> pos =
        int32_arg(info[1], T, 0, std::numeric_limits<int32_t>::max(), op, "positions", "non-negative positions (one per row of x)");
    Napi::Object o = options_arg(info[2], op);
    RopeOptions r;
    r.theta = ranged_number(o, "theta", 10000.0, false, 0, true, kInf, false, op);
    r.interleave = bool_option(o, "interleave", true, op);
    r.inverse = bool_option(o, "inverse", false, op);
    r.rope_dim = integer_option(o, "ropeDim", d, 0, kMaxElements, op);
    if (r.rope_dim == d && d % 2 != 0) throw ArgError(op, "x", "an even last dimension (pairs are rotated)", shape_str(x.shape));
    if (r.rope_dim < 2 || r.rope_dim > d || r.rope_dim % 2 != 0)
      throw ArgError(op, "options", "ropeDim an even number in [2, " + to_string(d) + "] (the last dimension of x; pairs are rotated)",
                     to_string(r.rope_dim));
    const OpTable& t = backend_for(x, op, "x", ops_for(x.device()).rope);
    return wrap(info.Env(), t.rope(x, pos, r));
  });
}

}  // namespace mt::napi
