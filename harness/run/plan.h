// What a run will cost, before it runs (`bench run CONFIG --plan`, and a short summary when a
// run starts): every row is timed on its first few chunks (compress plus verify, as the run does
// it) and its memory measured, then scaled to the chunks the row will evaluate.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "harness/run/config.h"
#include "harness/run/runner.h"

namespace lmc {

struct CalibrationBudget {
  std::uint64_t max_chunks = 4;  // per row; at least one chunk is always timed
  double max_seconds = 1.0;      // per row: no further chunk starts after this
};

struct RowEstimate {
  std::string dataset;
  std::string compressor;
  Mode mode = Mode::Chunked;
  std::uint64_t chunks = 0;             // the row will evaluate
  std::uint64_t calibrated_chunks = 0;  // timed
  double seconds_per_chunk = 0;         // one core, compress plus verify
  double cpu_seconds = 0;               // chunks x seconds_per_chunk
  std::uint64_t peak_rss_bytes = 0;     // the process's peak resident set while timing the row
  std::string note;                     // why the numbers are what they are, when not obvious
};

struct RunEstimate {
  std::vector<RowEstimate> rows;
  double cpu_seconds = 0;
  double wall_seconds = 0;  // on threads x processes cores; never less than the longest stream
  unsigned threads = 1;
  unsigned processes = 1;
  std::uint64_t base_rss_bytes = 0;  // before timing anything (models loaded, data opened)
  std::uint64_t peak_rss_bytes = 0;  // estimate for the run: base + the `threads` largest rows
  std::string calibration;           // how the rows were timed, in words
};

struct PlanOptions {
  bool verify = true;
  unsigned processes = 1;  // MPI ranks sharing the run
  CalibrationBudget budget;
  // Price each dataset at its declared num_chunks even when its data holds fewer (a sample
  // standing in for the real corpus), saying so in the row's note. Off: as a run would do.
  bool declared_counts = false;
};

// Times every row of `run` (sequentially, one row at a time, so each row's memory is its own).
// Byte-level language models ("lm") cost the same per chunk on any data: they are timed on the
// first dataset only and the figure reused.
RunEstimate estimate_run(const PreparedRun& run, const PlanOptions& options);

// Every row, for --plan.
std::string plan_table(const RunEstimate& estimate);
// Two lines for the start of a run.
std::string plan_summary(const RunEstimate& estimate);

// --plan before the data is there (a new user pricing configs/paper.json): a dataset of the config
// JSON `source` whose "path" does not exist is replaced by seeded random bytes of its declared
// num_chunks, and `notes` says so. Only time is estimated, so a stand-in is honest for what it
// prices: the LM rows cost the same on any bytes, the classical codecs run somewhat slower on
// random bytes than on text, images or speech (an upper estimate).
void stand_in_for_missing_data(nlohmann::json& source, std::ostream& notes);

}  // namespace lmc
