// The source revision `bench` was built from, read by every build (cmake/source_revision.cmake):
// "bf62531cc02a", "bf62531cc02a-dirty" when tracked files differed from that commit, or "unknown"
// outside a git checkout. Only source_revision.cpp includes the generated header, so a new commit
// recompiles one file.
#pragma once

namespace lmc {

const char* source_revision();

}  // namespace lmc
