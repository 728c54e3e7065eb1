// Counter-based random numbers for dropout masks: the mask of (step, example, layer, unit) is a
// pure function of those numbers and the network's dropout key, so the C++ engine, the Python
// reference engine, any SIMD path and any thread count draw exactly the same masks.
// The mixing function is SplitMix64's finalizer (Steele, Lea and Flood, OOPSLA 2014).
#pragma once

#include <cmath>
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

// Whether unit `unit` of a stream is kept with drop probability p, given threshold =
// dropout_threshold(p): the test stream_uniform(stream, unit) >= p in integers. u = (h >> 11) * 2^-53
// exactly and p * 2^53 is exact (a power-of-two scaling of p < 1), so u >= p exactly when
// (h >> 11) >= ceil(p * 2^53): the same masks without a 64-bit unsigned to double conversion per
// unit (several instructions on x86-64 without AVX-512).
inline uint64_t dropout_threshold(double p) { return static_cast<uint64_t>(std::ceil(p * 0x1.0p53)); }
inline bool dropout_kept(uint64_t stream, uint64_t unit, uint64_t threshold) {
    return (splitmix64_mix(stream ^ unit) >> 11) >= threshold;
}

// The same number in one call.
inline double dropout_uniform(uint64_t key, uint64_t step, uint64_t example, uint64_t layer, uint64_t unit) {
    return stream_uniform(dropout_stream(key, step, example, layer), unit);
}

}  // namespace nndl
