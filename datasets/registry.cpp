// Every corpus kind the harness knows. A new kind is one file defining `DatasetKind xxx_kind()`
// plus one line in each list below.
#include <algorithm>

#include "datasets/dataset.h"

namespace lmc {

DatasetKind enwik_kind();
DatasetKind imagenet_kind();
DatasetKind librispeech_kind();
DatasetKind random_kind();

const std::vector<DatasetKind>& dataset_kinds() {
  static const std::vector<DatasetKind> kinds = {
      enwik_kind(),
      imagenet_kind(),
      librispeech_kind(),
      random_kind(),
  };
  return kinds;
}

const DatasetKind* find_dataset_kind(std::string_view name) {
  const auto& kinds = dataset_kinds();
  auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.name == name; });
  return it == kinds.end() ? nullptr : &*it;
}

}  // namespace lmc
