#include "harness/run/cluster.h"

#include <cstdlib>
#include <stdexcept>

#ifdef LMC_WITH_MPI
#include <mpi.h>
#endif

namespace lmc {

namespace {

bool launched_by_mpirun() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

}  // namespace

#ifdef LMC_WITH_MPI

Cluster::Cluster(int* argc, char*** argv) {
  if (!launched_by_mpirun()) return;
  MPI_Init(argc, argv);
  joined_mpi_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Cluster::~Cluster() {
  if (joined_mpi_) MPI_Finalize();
}

std::string Cluster::library() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string text(version, static_cast<std::size_t>(length));
  if (const auto comma = text.find(','); comma != std::string::npos) text.resize(comma);
  return "MPI (" + text + ")";
}

void Cluster::barrier() const {
  if (joined_mpi_) MPI_Barrier(MPI_COMM_WORLD);
}

bool Cluster::all(bool ok) const {
  if (!joined_mpi_) return ok;
  int mine = ok ? 1 : 0, everyone = 0;
  MPI_Allreduce(&mine, &everyone, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return everyone == 1;
}

std::vector<std::string> Cluster::gather(const std::string& text) const {
  if (!joined_mpi_) return {text};
  const int length = static_cast<int>(text.size());
  std::vector<int> lengths(rank_ == 0 ? size_ : 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(lengths.size());
  int total = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    offsets[i] = total;
    total += lengths[i];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
              0, MPI_COMM_WORLD);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    texts.push_back(
        all.substr(static_cast<std::size_t>(offsets[i]), static_cast<std::size_t>(lengths[i])));
  }
  return texts;
}

#else  // a build without MPI: always a cluster of one

Cluster::Cluster(int*, char***) {
  if (launched_by_mpirun()) {
    throw std::runtime_error(
        "bench was started by mpirun, but this build has no MPI: install libopenmpi-dev and "
        "rebuild");
  }
}
Cluster::~Cluster() = default;
std::string Cluster::library() { return "none"; }
void Cluster::barrier() const {}
bool Cluster::all(bool ok) const { return ok; }
std::vector<std::string> Cluster::gather(const std::string& text) const { return {text}; }

#endif

}  // namespace lmc
