// cross_core.hpp: a ping-pong of one atomic between two pinned threads.
#include "nndl/cross_core.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

namespace nndl {
namespace {

#ifdef __linux__
std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
}

void pin_this_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}
#endif

}  // namespace

double cross_core_round_trip_ns(int rounds, int batches) {
#ifdef __linux__
    const std::vector<int> cpus = allowed_cpus();
    if (cpus.size() < 2 || rounds < 1 || batches < 1) return std::numeric_limits<double>::quiet_NaN();
    // Alone in an aligned pair of lines (the hardware fetches lines in pairs): nothing else's
    // traffic is timed.
    struct alignas(128) Line {
        std::atomic<long> turn{0};
    };
    Line line;
    const long trips = static_cast<long>(rounds) * batches;
    // The other thread gets copies: a value read from this thread's stack would share its lines
    // with this thread's own spills, and be timed too.
    std::thread other([&line, trips, cpu = cpus[1]] {
        pin_this_thread(cpu);
        for (long i = 0; i < trips; ++i) {
            while (line.turn.load(std::memory_order_acquire) != 2 * i + 1) {
            }
            line.turn.store(2 * i + 2, std::memory_order_release);
        }
    });
    // The caller's own affinity is put back afterwards.
    cpu_set_t before;
    const bool restore = pthread_getaffinity_np(pthread_self(), sizeof before, &before) == 0;
    pin_this_thread(cpus[0]);
    double best = std::numeric_limits<double>::infinity();
    long i = 0;
    for (int b = 0; b < batches; ++b) {
        const auto start = std::chrono::steady_clock::now();
        for (int r = 0; r < rounds; ++r, ++i) {
            line.turn.store(2 * i + 1, std::memory_order_release);
            while (line.turn.load(std::memory_order_acquire) != 2 * i + 2) {
            }
        }
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, ns / rounds);
    }
    other.join();
    if (restore) pthread_setaffinity_np(pthread_self(), sizeof before, &before);
    return best;
#else
    (void)rounds;
    (void)batches;
    return std::numeric_limits<double>::quiet_NaN();
#endif
}

}  // namespace nndl
