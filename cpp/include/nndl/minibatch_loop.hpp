// The training and evaluation loops both fronts share (network.cpp for network2's Network,
// layer_stack.cpp for network3's layer list), so that SGD's contracts are written once:
//
// - a mini-batch is split between threads twice: forward and backward by examples (each example
//   is independent), then the regularized update by output units (each unit's parameters are
//   independent); every number is computed by one thread in the same order whatever the split,
//   so results are the same for any thread count; whether a call splits at all is timed at its
//   start (split_trial.hpp);
// - each part checks its own input rows for NaN and infinity as it first reads them, and a
//   mini-batch holding one is not applied (its position is returned);
// - the cumulative L1 penalty and the mini-batch counter advance once per applied mini-batch;
// - the mean absolute change of the weights feeds the update's moving average, and a non-finite
//   change stops training after the offending step (the caller restores what it needs).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "nndl/split_trial.hpp"
#include "nndl/thread_pool.hpp"
#include "nndl/train.hpp"
#include "nndl/update_rule.hpp"

namespace nndl {

// The sum of `values` in a fixed order (eight running sums, then added pairwise): independent of how
// the values were split between threads, and not one long chain of dependent additions.
inline double fixed_order_sum(const std::vector<double>& values) {
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t n = values.size(), whole = n / 8 * 8;
    for (size_t i = 0; i < whole; i += 8)
        for (size_t l = 0; l < 8; ++l) lane[l] += values[i + l];
    for (size_t i = whole; i < n; ++i) lane[i - whole] += values[i];
    return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

// Mini-batches [batch_begin, batch_end) of an epoch of n examples. `steps` is the front's network:
//   int  start(batch, first, m)          point at the mini-batch's m examples; returns the most parts its work
//                                        pays for (the loop splits in that many or runs whole: split_trial.hpp)
//   int  phases(parts)                   how many parallel phases forward and backward take in `parts`
//   long forward_backward(phase, p, parts, m)  phase `phase` of the forward and backward passes, part p's
//                                        share; -1, or the first row (in the mini-batch) that part found
//                                        holding a NaN or an infinity (the phases after it are not run)
//   void update(p, parts, m, step)       the regularized update of part p's units
//   double after_update(m)               the summed absolute change of the weights (and any per-step
//                                        bookkeeping of the front, done before the moving average)
// before_update(m, parts) runs between the two parallel regions.
template <class T, class Steps>
ChunkResult train_loop(Steps& steps, int64_t n, int64_t mini_batch_size, int64_t batch_begin, int64_t batch_end,
                       const UpdateRule& rule, TrainState<T>& state, double num_weights, int threads) {
    ChunkResult result;
    std::vector<int64_t> part_nonfinite(static_cast<size_t>(threads));
    SplitTrial split(state.split);
    for (int64_t batch = batch_begin; batch < batch_end; ++batch) {
        const int64_t first = batch * mini_batch_size;
        const int64_t m = std::min(mini_batch_size, n - first);
        const int offered = steps.start(batch, first, m);
        const int parts = split.parts(offered);
        const bool timed = split.timing(offered);
        const auto began = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        std::fill(part_nonfinite.begin(), part_nonfinite.end(), -1);
        auto bad = part_nonfinite.end();
        for (int phase = 0, phases = steps.phases(parts); phase < phases && bad == part_nonfinite.end(); ++phase) {
            parallel_for(parts, [&](int p) {
                part_nonfinite[static_cast<size_t>(p)] = steps.forward_backward(phase, p, parts, m);
            });
            bad = std::find_if(part_nonfinite.begin(), part_nonfinite.end(), [](int64_t row) { return row >= 0; });
        }
        if (bad != part_nonfinite.end()) {  // nothing of this mini-batch is applied
            result.nonfinite_position = first + *bad;
            break;
        }
        if (rule.l1_method == L1Method::cumulative)
            state.l1_total += rule.eta * rule.l1_lmbda() / static_cast<double>(rule.n);
        const UpdateStep<T> step(rule, m, state.l1_total);
        steps.before_update(m, parts);
        parallel_for(parts, [&](int p) { steps.update(p, parts, m, step); });
        const double abs_change = steps.after_update(m);
        if (timed) split.record(seconds_since(began));
        ++state.step;
        ++result.batches_done;
        if (state.ema_tau > 0) {
            const double mean_change = abs_change / num_weights;
            state.update_ema =
                state.ema_started ? (1 - state.ema_tau) * state.update_ema + state.ema_tau * mean_change : mean_change;
            state.ema_started = true;
        }
        if (!std::isfinite(abs_change)) {
            result.diverged = true;
            break;
        }
    }
    return result;
}

// Forward passes of k rows in blocks of block_rows, blocks shared out between `parts` threads (part
// p takes blocks p, p + parts, ...), each part with a workspace of its own from make_workspace().
// run(ws, first, m) passes rows [first, first + m) forward and returns -1, or the first of them
// holding a NaN or an infinity (the block is then not visited); visit(ws, block, first, m) sees
// each block's results on the part's thread. Returns the first such row of all, or -1.
template <class MakeWorkspace, class Run, class Visit>
int64_t forward_in_blocks(int64_t k, int64_t block_rows, int parts, MakeWorkspace make_workspace, Run run,
                          Visit visit) {
    const int64_t blocks = (k + block_rows - 1) / block_rows;
    parts = static_cast<int>(std::min<int64_t>(parts, std::max<int64_t>(blocks, 1)));
    std::vector<decltype(make_workspace())> workspaces;
    for (int p = 0; p < parts; ++p) workspaces.push_back(make_workspace());
    std::vector<int64_t> block_nonfinite(static_cast<size_t>(blocks), -1);
    parallel_for(parts, [&](int p) {
        auto& ws = workspaces[static_cast<size_t>(p)];
        for (int64_t block = p; block < blocks; block += parts) {
            const int64_t first = block * block_rows;
            const int64_t m = std::min(block_rows, k - first);
            const int64_t bad = run(ws, first, m);
            if (bad >= 0) {
                block_nonfinite[static_cast<size_t>(block)] = bad;
                continue;
            }
            visit(ws, block, first, m);
        }
    });
    for (int64_t row : block_nonfinite)
        if (row >= 0) return row;
    return -1;
}

}  // namespace nndl
