// Vectors whose storage starts on a 64-byte cache line, for the arrays the step kernels stream:
// the KV caches and the weights. The kernels read them in 64-byte (AVX-512) or 32-byte vectors
// along rows padded to whole lines; from operator new's 16-byte alignment those loads straddle
// two lines, and which alignment a buffer got depended on what the process had allocated before
// it, so the coder's speed changed with unrelated code (docs/LM_SPEED.md).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace lmc {

inline constexpr std::size_t kCacheLine = 64;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kCacheLine}));
  }
  // Unsized: clang before 19 declares the sized aligned form only with -fsized-deallocation.
  void deallocate(T* p, std::size_t) noexcept {
    ::operator delete (p, std::align_val_t{kCacheLine});
  }

  friend bool operator==(const CacheLineAllocator&, const CacheLineAllocator&) { return true; }
};

template <typename T>
using CacheAlignedVector = std::vector<T, CacheLineAllocator<T>>;

template <typename T>
CacheAlignedVector<T> cache_aligned(const std::vector<T>& values) {
  return {values.begin(), values.end()};
}

}  // namespace lmc
