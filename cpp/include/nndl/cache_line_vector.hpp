// std::vector whose storage starts on a cache line (64 bytes, also one AVX-512 vector).
//
// malloc gives 16-byte alignment, so a buffer's rows could start anywhere in a line, and then every
// full-width load and store of the SIMD kernels straddled two lines. Which of the four offsets a
// buffer got depended on what the process had allocated and freed before: timed in one process,
// successive SGD calls of 784-100-10 float64 at m=10 alternated between 0.195-0.206 s and
// 0.234-0.244 s an epoch.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace nndl {

constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine})); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{kCacheLine}); }
    template <class U>
    bool operator==(const CacheLineAllocator<U>&) const noexcept {
        return true;
    }
    template <class U>
    bool operator!=(const CacheLineAllocator<U>&) const noexcept {
        return false;
    }
};

template <class T>
using CacheLineVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace nndl
