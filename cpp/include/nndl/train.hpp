// The C++ engine's entry points. Every pointer is to caller-owned, contiguous, row-major memory;
// nothing here allocates per example, and nothing here knows of Python.
#pragma once

#include <cstdint>

#include "nndl/architecture.hpp"
#include "nndl/input_cache.hpp"
#include "nndl/split_trial.hpp"
#include "nndl/update_rule.hpp"

namespace nndl {

// Caller-owned training state that outlives one call (so a run can be split into chunks).
template <class T>
struct TrainState {
    T* velocity = nullptr;    // num_params values; needed when momentum != 0
    T* l1_applied = nullptr;  // num_params values; needed for the cumulative L1 method
    double l1_total = 0.0;    // cumulative method: penalty accumulated so far (advanced here)
    uint64_t step = 0;        // mini-batches trained so far: the dropout counter (advanced here)
    double update_ema = 0.0;  // EMA of the mean |weight change| per mini-batch (advanced here)
    double ema_tau = 0.0;     // 0: not monitored
    bool ema_started = false;
    // When not null (and ema_tau > 0): num_params values laid out as the parameters, whose weight
    // entries hold each weight's own EMA of its signed change per mini-batch (bias entries unused):
    // E <- (1 - tau) E + tau dW, started at the first dW together with update_ema.
    T* update_ema_weights = nullptr;
    SplitMemory split;  // whether splitting mini-batches between threads paid (split_trial.hpp)
};

struct Dropout {
    double p = 0.0;    // probability of dropping a hidden unit; 0 disables dropout
    uint64_t key = 0;  // the network's dropout key
    // false: a mask per example (each example of a mini-batch drops its own units); true: one mask
    // per mini-batch, the same units dropped for all its examples, as chapter 3 of the book tells it.
    bool per_mini_batch = false;
};

struct ChunkResult {
    int64_t batches_done = 0;  // mini-batches trained in this call
    bool diverged = false;     // the last mini-batch trained left a non-finite weight or bias
    // When >= 0: the position in `order` of an example whose inputs hold a NaN or an infinity;
    // training stopped before its mini-batch, which was not trained.
    int64_t nonfinite_position = -1;
};

// Train mini-batches [batch_begin, batch_end) of one epoch. Mini-batch b holds the examples
// order[b*m .. min((b+1)*m, n)) (the last one may be short, as in the book). X is (n, n_in), Y is
// (n, n_out). Stops early, after the offending update, when a parameter becomes non-finite, and
// before the mini-batch, when one of its inputs is NaN or infinite (checked as it is read, so the
// caller need not make a separate pass over X). With sparse_inputs, the first layer reads only the
// nonzero inputs of each example (sparse_inputs.hpp): the same numbers on the SIMD kernel sets, less
// arithmetic when most inputs are exact zeros. input_cache (sparse_inputs only; may be null) keeps the
// nonzeros of the examples gathered, for the later calls of the same SGD call (input_cache.hpp).
template <class T>
ChunkResult train_minibatches(const Architecture& arch, T* params, const T* X, const T* Y, int64_t n,
                              const int64_t* order, int64_t mini_batch_size, int64_t batch_begin, int64_t batch_end,
                              const UpdateRule& rule, const Dropout& dropout, TrainState<T>& state,
                              bool sparse_inputs = false, SparseInputCache<T>* input_cache = nullptr);

// Gradient of the cost summed over the m examples X (m, n_in), Y (m, n_out), into grad (num_params,
// laid out as params). No dropout, no regularization: the book's backprop, in matrix form.
template <class T>
void backprop(const Architecture& arch, const T* params, const T* X, const T* Y, int64_t m, T* grad);

// Output activations (k, n_out) for inputs X (k, n_in), which the caller has checked to be finite.
template <class T>
void feedforward(const Architecture& arch, const T* params, const T* X, int64_t k, T* out);

struct Evaluation {
    double cost_sum = 0.0;       // sum over examples of the cost (no penalty term)
    int64_t correct = 0;         // examples whose largest output is at the label
    int64_t nonfinite_row = -1;  // when >= 0: the first row of X with a NaN or an infinity (sums not valid)
};

// Cost and accuracy over X (n, n_in). Targets come from Y (n, n_out) when given, else one-hot of
// labels; labels come from `labels` when given, else the argmax of Y.
template <class T>
Evaluation evaluate(const Architecture& arch, const T* params, const T* X, const T* Y, const int64_t* labels,
                    int64_t n);

}  // namespace nndl
