// The thread pool (cpp/src/thread_pool.cpp) under ThreadSanitizer: .ci/run builds this with
// -fsanitize=thread and runs it. Jobs of 1 to 5 parts on pools of 2 to 4 threads (so some workers
// have no parts in a job); parallel_for called from inside a part (run serially when the caller
// holds the pool, on the pool when the outer job had one part and ran on the caller alone); pauses
// long enough for the workers to fall asleep between jobs, each followed by a job of slow parts that
// the woken workers claim while the caller runs (the pool's claimed jobs); resizes in between. Each
// part adds to a counter of its own; the totals are checked against the parts posted. Exits non-zero,
// naming the case, on a wrong total; ThreadSanitizer fails the run on a data race.
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>
#include <vector>

#include "nndl/thread_pool.hpp"

int main() {
    int failures = 0;
    for (int threads : {2, 3, 4, 2}) {
        nndl::set_num_threads(threads);
        if (nndl::num_threads() != threads) {
            std::printf("num_threads() is %d after set_num_threads(%d)\n", nndl::num_threads(), threads);
            ++failures;
        }
        std::vector<long> runs(5, 0), inner(10, 0);  // inner: [part][its inner part]
        long expected = 0, shared = 0, slow_jobs = 0;
        for (int job = 0; job < 4000; ++job) {
            const int parts = 1 + job % 5;
            expected += parts;
            nndl::parallel_for(parts, [&](int p) {
                ++runs[static_cast<size_t>(p)];
                nndl::parallel_for(2, [&](int q) { inner[static_cast<size_t>(2 * p + q)] += q + 1; });
            });
            // Past the workers' spin (200 us): the next job has to wake them. Its parts take 0.3 ms
            // each, so that a worker can wake and claim some while the caller runs the first.
            if (job % 500 == 499) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                const int slow_parts = 2 + job / 500 % 4;
                std::vector<std::thread::id> ran_on(static_cast<size_t>(slow_parts));
                std::vector<long> ran(static_cast<size_t>(slow_parts), 0);
                nndl::parallel_for(slow_parts, [&](int p) {
                    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(300);
                    while (std::chrono::steady_clock::now() < until) {
                    }
                    ran_on[static_cast<size_t>(p)] = std::this_thread::get_id();
                    ++ran[static_cast<size_t>(p)];
                });
                for (long r : ran)
                    if (r != 1) {
                        std::printf("%d threads: a slow part ran %ld times\n", threads, r);
                        ++failures;
                    }
                shared += std::set<std::thread::id>(ran_on.begin(), ran_on.end()).size() > 1;
                ++slow_jobs;
            }
        }
        long total = 0, inner_total = 0;
        for (long r : runs) total += r;
        for (long r : inner) inner_total += r;
        if (total != expected || inner_total != 3 * expected) {
            std::printf("%d threads: %ld parts run (%ld expected), inner sum %ld (%ld expected)\n", threads, total,
                        expected, inner_total, 3 * expected);
            ++failures;
        }
        // Informational, not checked: how often a woken worker took part (it depends on the host).
        std::printf("%d threads: %ld of %ld jobs after a sleep shared between threads\n", threads, shared, slow_jobs);
    }
    std::printf("thread pool stress: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
