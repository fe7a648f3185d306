// Bindings of embedding and its backward: read and validate every argument, then call the op table.
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

Napi::Value bind_embedding(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "embedding";
    const Tensor& w = tensor_arg(info[0], op, "weight");
    require_rank(w, 2, 2, op, "weight");
    const int64_t V = w.shape[0];
    const int64_t T = int32_length(info[1], op, "ids", "token ids");
    const std::vector<int32_t> ids = int32_arg(info[1], T, 0, V - 1, op, "ids", "token ids in [0, " + to_string(V) + ")");
    const OpTable& t = backend_for(w, op, "weight", ops_for(w.device()).embedding);
    return wrap(info.Env(), t.embedding(w, ids));
  });
}

Napi::Value bind_embedding_backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* op = "embeddingBackward";
    const Tensor& dy = tensor_arg(info[0], op, "dy");
    require_rank(dy, 2, 2, op, "dy");
    const int64_t T = dy.shape[0];
    if (!info[2].IsNumber()) throw ArgError(op, "vocabSize", "a positive integer", describe(info[2]));
    const double vd = info[2].As<Napi::Number>().DoubleValue();
    if (!(vd >= 1 && vd <= 2147483647.0) || vd != std::floor(vd)) throw ArgError(op, "vocabSize", "an integer in [1, 2^31)", describe(info[2]));
    const int64_t V = static_cast<int64_t>(vd);
    if (dy.shape[1] > 0 && V > kMaxElements / dy.shape[1])
      throw ArgError(op, "vocabSize", "an output of at most 2^40 elements", to_string(V) + " rows of " + to_string(dy.shape[1]));
    const std::vector<int32_t> ids =
        int32_arg(info[1], T, 0, V - 1, op, "ids", "token ids in [0, " + to_string(V) + ") (one per row of dy)");
    const OpTable& t = backend_for(dy, op, "dy", ops_for(dy.device()).embedding_backward);
    return wrap(info.Env(), t.embedding_backward(dy, ids, V));
  });
}

}  // namespace mt::napi
