// The emulator tests' output: one line per check ("ok - ..." / "not ok - ..."); a failure makes the
// executable exit 1 (test/cuda/emu_tests.cc).
#pragma once
#include <string>

void report(bool ok, const std::string& what);
void simt_tests();       // test/cuda/simt_tests.cc
void moe_tests();        // test/cuda/moe_tests.cc
void attention_tests();  // test/cuda/attention_tests.cc
