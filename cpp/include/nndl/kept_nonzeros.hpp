// One example's nonzero inputs as the input cache keeps them (input_cache.hpp), in the lane groups
// gather_nonzeros writes (kernel_table.hpp): counts[g] entries in group g, and their input numbers
// (2 bytes each) and pixel codes (1 byte each, the value through the cache's table of 256), group
// after group. The sparse first layer reads them there, in the sort by input and in the forward
// product, rather than decoded into the gathered slots first. Layout only: no code.
#pragma once

#include <cstdint>

namespace nndl {

struct KeptNonzeros {
    const uint16_t* counts = nullptr;  // null: the example is not kept
    const uint16_t* inputs = nullptr;
    const uint8_t* codes = nullptr;
};

}  // namespace nndl
