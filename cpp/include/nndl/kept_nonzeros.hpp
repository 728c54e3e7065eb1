// One example's nonzero inputs as the input cache keeps them (input_cache.hpp), in the lane groups
// gather_nonzeros writes (kernel_table.hpp): counts[g] entries in group g, and the numbers it writes
// for them (their rows of the first layer's weights: the input numbers, or their rows in the parity
// halves of sparse_inputs.hpp; 2 bytes each) and pixel codes (1 byte each, the value through the
// cache's table of 256), group after group. The sparse first layer reads them there, in the sort by
// input and in the forward product, rather than decoded into the gathered slots first. Layout only.
#pragma once

#include <cstdint>

namespace nndl {

// The numbers are kept in 2 bytes: rows [0, kMaxKeptRows) only.
constexpr int64_t kMaxKeptRows = 65536;

struct KeptNonzeros {
    const uint16_t* counts = nullptr;  // null: the example is not kept
    const uint16_t* inputs = nullptr;
    const uint8_t* codes = nullptr;
};

}  // namespace nndl
