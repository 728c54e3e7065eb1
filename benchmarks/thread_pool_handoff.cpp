// What a hand-off to the thread pool costs (cpp/src/thread_pool.cpp): parallel_for(2, ...) with a
// fixed amount of work in each part, the time over the work, best of 3 rounds of 5,000 calls; then
// the first hand-off after the workers have gone to sleep (2 ms idle, past the pool's 200 us of
// spinning), median and worst of 50. The cores' round trip comes first: the host of a virtual
// machine places its two CPUs near each other or far apart, and a hand-off costs about one round
// trip more than the work (README, Speed). Times are in TSC cycles converted at the TSC's rate.
//
// Build and run from the repository root (x86-64, Linux), all on one line:
//   g++ -O2 -std=c++17 -Icpp/include benchmarks/thread_pool_handoff.cpp cpp/src/thread_pool.cpp
//       cpp/src/cross_core.cpp -pthread -o thread_pool_handoff && ./thread_pool_handoff
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "nndl/cross_core.hpp"
#include "nndl/thread_pool.hpp"

namespace {

void spin_cycles(uint64_t cycles) {
    const uint64_t start = __rdtsc();
    while (__rdtsc() - start < cycles) {
    }
}

// TSC ticks per microsecond, from 20 ms of steady_clock.
double ticks_per_us() {
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const uint64_t c1 = __rdtsc();
    const auto t1 = std::chrono::steady_clock::now();
    return static_cast<double>(c1 - c0) / std::chrono::duration<double, std::micro>(t1 - t0).count();
}

}  // namespace

int main() {
    nndl::set_num_threads(2);
    const double per_us = ticks_per_us();
    std::printf("cross-core round trip: %.0f ns\n", nndl::cross_core_round_trip_ns(2000, 5));
    for (double work_us : {0.0, 1.0, 10.0}) {
        const auto work = static_cast<uint64_t>(work_us * per_us);
        double best = 1e300;
        for (int round = 0; round < 3; ++round) {
            constexpr int kCalls = 5000;
            const uint64_t start = __rdtsc();
            for (int i = 0; i < kCalls; ++i) nndl::parallel_for(2, [&](int) { spin_cycles(work); });
            best = std::min(best, static_cast<double>(__rdtsc() - start) / kCalls - static_cast<double>(work));
        }
        std::printf("hand-off with %4.1f us of work in each part: %.2f us over the work\n", work_us, best / per_us);
    }
    std::vector<double> first;
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        const uint64_t start = __rdtsc();
        nndl::parallel_for(2, [](int) {});
        first.push_back(static_cast<double>(__rdtsc() - start) / per_us);
    }
    std::sort(first.begin(), first.end());
    std::printf("first hand-off after 2 ms idle: median %.1f us, worst %.1f us\n", first[first.size() / 2],
                first.back());
    return 0;
}
