// The processes one run is spread over: MPI ranks when `bench` was started by mpirun (and built
// with MPI), else just this process. `bench run` splits its pieces of work across them
// (RunOptions::shard) and rank 0 gathers the partial totals and writes the results.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace lmc {

class Cluster {
 public:
  // Joins MPI when launched by mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set) and this
  // build has MPI; otherwise a cluster of one. Leaves MPI when destroyed.
  Cluster(int* argc, char*** argv);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }
  // "MPI (Open MPI v4.1.4)", or "none" for a build without MPI.
  static std::string library();

  void barrier() const;
  // True on every rank when `ok` is true on every rank.
  bool all(bool ok) const;
  // Rank 0 receives every rank's `text` in rank order; the others receive an empty list.
  std::vector<std::string> gather(const std::string& text) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  bool joined_mpi_ = false;
};

}  // namespace lmc
