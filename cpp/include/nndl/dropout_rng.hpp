// Counter-based random numbers for dropout masks: the mask of (step, example, layer, unit) is a
// pure function of those numbers and the network's dropout key, so the C++ engine, the Python
// reference engine, any SIMD path and any thread count draw exactly the same masks.
// The mixing function is SplitMix64's finalizer (Steele, Lea and Flood, OOPSLA 2014).
#pragma once

#include <cstdint>

namespace nndl {

inline uint64_t splitmix64_mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The draws of one (step, example, layer): the state after mixing in everything but the unit, so a
// loop over a layer's units mixes once per unit instead of four times.
inline uint64_t dropout_stream(uint64_t key, uint64_t step, uint64_t example, uint64_t layer) {
    return splitmix64_mix(splitmix64_mix(splitmix64_mix(key ^ step) ^ example) ^ layer);
}

// Uniform double in [0, 1) with 53 random bits: unit `unit` of a stream.
inline double stream_uniform(uint64_t stream, uint64_t unit) {
    return static_cast<double>(splitmix64_mix(stream ^ unit) >> 11) * 0x1.0p-53;
}

// The same number in one call.
inline double dropout_uniform(uint64_t key, uint64_t step, uint64_t example, uint64_t layer, uint64_t unit) {
    return stream_uniform(dropout_stream(key, step, example, layer), unit);
}

}  // namespace nndl
