// Errors raised by native code. ArgError becomes a JS Error with op/argument/code properties.
#pragma once
#include <stdexcept>
#include <string>

namespace mt {

struct ArgError : std::runtime_error {
  std::string op, argument;
  ArgError(const std::string& op_, const std::string& arg, const std::string& expected, const std::string& got)
      : std::runtime_error(op_ + ": argument '" + arg + "': expected " + expected + ", got " + got),
        op(op_), argument(arg) {}
};

// A failure that is not the caller's fault (allocation, device, OS).
struct RuntimeError : std::runtime_error {
  std::string op, code;
  RuntimeError(const std::string& op_, const std::string& code_, const std::string& what)
      : std::runtime_error(op_ + ": " + what), op(op_), code(code_) {}
};

}  // namespace mt
