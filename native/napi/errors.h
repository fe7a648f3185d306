// Turns C++ failures into JS Errors with `op`, `argument` and `code` properties.
#pragma once
#include <napi.h>

#include <new>
#include <string>

#include "../core/error.h"

namespace mt::napi {

[[noreturn]] inline void throw_js(Napi::Env env, const std::string& message, const char* code, const std::string& op,
                                  const std::string* argument) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  if (!op.empty()) e.Set("op", Napi::String::New(env, op));
  if (argument) e.Set("argument", Napi::String::New(env, *argument));
  throw e;
}

// Runs body, converting native exceptions into JS Errors.
template <typename Body>
Napi::Value guarded(const Napi::CallbackInfo& info, Body&& body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgError& e) {
    throw_js(env, e.what(), "ERR_MOONTRAIN_INVALID_ARGUMENT", e.op, &e.argument);
  } catch (const RuntimeError& e) {
    throw_js(env, e.what(), e.code.c_str(), e.op, nullptr);
  } catch (const std::bad_alloc&) {
    throw_js(env, "out of host memory", "ERR_MOONTRAIN_OUT_OF_MEMORY", "", nullptr);
  } catch (const std::exception& e) {
    throw_js(env, e.what(), "ERR_MOONTRAIN_INTERNAL", "", nullptr);
  }
}

}  // namespace mt::napi
