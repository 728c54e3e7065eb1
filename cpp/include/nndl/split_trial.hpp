// Whether splitting mini-batches between threads pays on this machine now, found by timing both
// ways at the start of a train_minibatches call (a few mini-batches each) and keeping the faster
// for the rest of the call and the network's next few calls.
//
// The work per mini-batch says when a split can pay (parts_for in each front), but not whether it
// does: a split hands data between cores twice a mini-batch, and what that costs depends on where
// the cores are. On this project's virtual machine the two cores' round trip (one cache line
// passed there and back) was 50-58 ns most of the time and 310-370 ns for minutes at a stretch,
// when the host had placed the two virtual CPUs far apart; 784-100-10 float64 at m=100 then took
// 0.22-0.23 s an epoch on two threads against 0.09-0.10 s in the near placement and 0.14 s on one
// thread. Another process busy on the other core does the same. Timing decides for every cause.
//
// Results do not depend on the choice: every number is computed by one thread in a fixed order
// whatever the split (minibatch_loop.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <limits>

namespace nndl {

// What a network's last trial found, kept between its calls (in TrainState): the next
// kCallsBetweenTrials calls reuse it instead of trying both ways again. Trying costs about 2% of a
// call where the split pays and 4-5% where it does not (784-100-10 float64 m=100, one call per
// 10,000 examples: 4 of its 100 mini-batches run the slower way, and 4 more are the first of a run).
struct SplitMemory {
    int calls_to_skip = 0;
    bool split_pays = true;
};

class SplitTrial {
  public:
    static constexpr int kCallsBetweenTrials = 3;

    explicit SplitTrial(SplitMemory& memory) : memory_(memory) {
        if (memory_.calls_to_skip > 0) {
            --memory_.calls_to_skip;
            decided_ = true;
            split_pays_ = memory_.split_pays;
        }
    }

    // The parts to run the next mini-batch in, given the most its work allows (`offered`): while
    // trying, kRun mini-batches split, then kRun whole (split first: it wakes the pool), then
    // always the faster way.
    int parts(int offered) const {
        if (offered <= 1) return 1;
        if (decided_) return split_pays_ ? offered : 1;
        return tried_ < kRun ? offered : 1;
    }

    bool timing(int offered) const { return offered > 1 && !decided_; }

    // A mini-batch of the trial (called only while timing(offered)) took `seconds`. The first of each
    // way's run does not count: it fetches what the other way left in the other core's cache. Of the
    // rest the fastest counts: a mini-batch interrupted by the system says nothing of the split.
    // (Alternating the two ways every mini-batch made each pay for the other's data movement.)
    void record(double seconds) {
        const bool split = tried_ < kRun, first_of_run = tried_ % kRun == 0;
        if (!first_of_run) {
            double& best = split ? best_split_ : best_whole_;
            best = std::min(best, seconds);
        }
        if (++tried_ == 2 * kRun) {
            decided_ = true;
            split_pays_ = best_split_ < best_whole_;
            memory_ = {kCallsBetweenTrials, split_pays_};
        }
    }

  private:
    static constexpr int kRun = 4;  // mini-batches tried each way
    SplitMemory& memory_;
    int tried_ = 0;
    bool decided_ = false, split_pays_ = true;
    double best_split_ = std::numeric_limits<double>::infinity(), best_whole_ = best_split_;
};

inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace nndl
