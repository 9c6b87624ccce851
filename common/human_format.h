// Sizes and counts as people read them, for progress lines, plans and reports.
#pragma once

#include <cstdint>
#include <string>

namespace lmc {

// "1.5 GB", "320.0 MB", "12.0 kB", "17 B" (decimal units, like the sizes upstream publishes).
std::string format_bytes(std::uint64_t bytes);
// "488,281"
std::string format_count(std::uint64_t count);

}  // namespace lmc
