// A result written as JSON against the same JSON recorded on a GPU (test/fixtures/*.json): equal
// as text except for the "device" line, or reported at the first line that differs.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "../../native/cuda/probes/probe_json.h"
#include "report.h"

void compare_with_fixture(const std::string& mine, const std::string& fixture, const std::string& what) {
  std::ifstream in(fixture);
  if (!in) {
    std::printf("# %s is absent (written by scripts/dev/cuda-probes.sh on a GPU host): %s are checked against the documented maps only\n", fixture.c_str(),
                what.c_str());
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string theirs = mt::probe::without_device(ss.str()), ours = mt::probe::without_device(mine);
  std::string device = "?";
  const size_t d = ss.str().find("\"device\": \"");
  if (d != std::string::npos) device = ss.str().substr(d + 11, ss.str().find('"', d + 11) - d - 11);
  if (theirs == ours) {
    report(true, what + " match the probes recorded on " + device);
    return;
  }
  std::istringstream a(theirs), b(ours);
  std::string la, lb;
  int line = 0;
  while (std::getline(a, la) && std::getline(b, lb) && la == lb) ++line;
  report(false, what + " differ from the probes recorded on " + device + " at line " + std::to_string(line + 1) + " (without the device line): GPU " +
                    la.substr(0, 160) + " | ours " + lb.substr(0, 160));
}
