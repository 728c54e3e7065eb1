// How far apart two cores are, as the time of one cache line's round trip between them. On a
// virtual machine the host can place the virtual CPUs near (one L3) or far apart, and move them:
// the benchmarks report it beside their two-thread figures (split_trial.hpp says what it costs).
#pragma once

namespace nndl {

// Nanoseconds per round trip of a cache line between two threads pinned to the first two CPUs this
// process may run on, the fastest of `batches` batches of `rounds` trips; NaN with fewer than two CPUs.
double cross_core_round_trip_ns(int rounds, int batches);

}  // namespace nndl
