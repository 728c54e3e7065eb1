// How a loop over rows is cut between threads: contiguous ranges whose boundaries fall on
// multiples of the kernels' row tiles, so every tile stays whole and every number is computed by
// the same operations whatever the thread count.
#pragma once

#include <algorithm>
#include <cstdint>

namespace nndl {

struct Range {
    int64_t begin, end;
};

// Part p of [0, n) split into `parts` contiguous ranges whose boundaries fall on multiples of align.
inline Range part_range(int64_t n, int parts, int p, int64_t align) {
    int64_t chunk = (n + parts - 1) / parts;
    chunk = (chunk + align - 1) / align * align;
    const int64_t begin = std::min(n, p * chunk);
    return {begin, std::min(n, begin + chunk)};
}

}  // namespace nndl
