// network2's Network in C++: matrix-form forward and backward passes over a whole mini-batch of
// fully connected layers, driven by the training loop both fronts share (minibatch_loop.hpp).
//
// The dense loops go through the active kernel table (kernel_table.hpp: scalar, or SIMD chosen
// for this CPU); the regularized update is the fused kernels' (update_rule.hpp), as for network3's
// layers. The first layer may read only its nonzero inputs (sparse_inputs.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <tuple>
#include <vector>

#include "nndl/cache_line_vector.hpp"
#include "nndl/dropout_rng.hpp"
#include "nndl/input_cache.hpp"
#include "nndl/kernel_table.hpp"
#include "nndl/kernels.hpp"
#include "nndl/layers/activation.hpp"
#include "nndl/layers/softmax.hpp"
#include "nndl/minibatch_loop.hpp"
#include "nndl/sparse_inputs.hpp"
#include "nndl/thread_pool.hpp"
#include "nndl/train.hpp"
#include "nndl/work_split.hpp"

namespace nndl {
namespace {

// Below this many multiply-adds per parallel region a thread hand-off costs more than it saves:
// for 784-30-10 it is a mini-batch of 64.
constexpr double kParallelMinMacs = 1.5e6;
// Row tiles of the SIMD kernels (kernels_simd.inl): splits at multiples of these keep tiles whole.
constexpr int64_t kExampleAlign = 2, kNeuronAlign = 5;

template <class T>
void apply_activation(const KernelTable<T>& kernels, Activation act, T* z, int64_t m, int64_t width) {
    if (act == Activation::softmax)
        softmax_rows(z, m, width);
    else
        apply_layer_activation(kernels, act, z, m * width);
}

double macs_per_example(const Architecture& arch) {
    double macs = 0;
    for (size_t l = 1; l < arch.num_layers(); ++l) macs += static_cast<double>(arch.sizes[l] * arch.sizes[l - 1]);
    return macs;
}

// How many parts to split `rows` examples into: one unless the work pays for the hand-off.
int parts_for(const Architecture& arch, int64_t rows, int threads) {
    if (threads <= 1 || static_cast<double>(rows) * macs_per_example(arch) < kParallelMinMacs) return 1;
    return static_cast<int>(std::min<int64_t>(threads, rows));
}

// Per-call scratch: activations, derivative factors and errors of every layer for one batch, and
// the row pointers of every layer's inputs (layer 1: rows of X in mini-batch order).
template <class T>
struct Workspace {
    std::vector<CacheLineVector<T>> a, d, delta;  // index l = 1 .. L-1, each (m, sizes[l])
    std::vector<std::vector<const T*>> rows;      // index l: m pointers to the inputs of layer l
    std::vector<std::vector<double>> row_change;  // index l: sizes[l], from the fused update

    Workspace(const Architecture& arch, int64_t m)
        : a(arch.num_layers()),
          d(arch.num_layers()),
          delta(arch.num_layers()),
          rows(arch.num_layers()),
          row_change(arch.num_layers()) {
        for (size_t l = 1; l < arch.num_layers(); ++l) {
            const size_t cells = static_cast<size_t>(m * arch.sizes[l]);
            a[l].resize(cells);
            d[l].resize(cells);
            delta[l].resize(cells);
            row_change[l].resize(static_cast<size_t>(arch.sizes[l]));
            rows[l].resize(static_cast<size_t>(m));
            if (l > 1)
                for (int64_t i = 0; i < m; ++i)
                    rows[l][static_cast<size_t>(i)] = a[l - 1].data() + i * arch.sizes[l - 1];
        }
    }
    Workspace(const Workspace&) = delete;  // rows point into this object's own buffers
    Workspace& operator=(const Workspace&) = delete;
    Workspace(Workspace&&) = default;  // moving keeps the heap buffers, so the pointers hold
};

// Forward pass of examples [i0, i1) of the batch whose inputs are ws.rows[1]. With training set,
// also fills the derivative factors d (activation' times the dropout factor) that backprop needs.
// With `sparse`, layer 1 reads the nonzeros gathered into it (rows i0 .. i1) and its input-major
// weights, or with `halves_summed` adds the sums of its two parity halves (sparse_forward_half).
template <class T>
void forward_rows(const Architecture& arch, const KernelTable<T>& kernels, const T* params, int64_t i0, int64_t i1,
                  Workspace<T>& ws, bool training, const Dropout& dropout, uint64_t step,
                  const SparseFirstLayer<T>* sparse = nullptr, bool halves_summed = false) {
    const size_t L = arch.num_layers();
    const int64_t m = i1 - i0;
    const T keep_scale = dropout.p > 0 ? static_cast<T>(1.0 / (1.0 - dropout.p)) : T(1);
    for (size_t l = 1; l < L; ++l) {
        const int64_t n_in = arch.sizes[l - 1], n_out = arch.sizes[l];
        const Activation act = arch.activations[l - 1];
        T* a = ws.a[l].data() + i0 * n_out;
        if (l == 1 && sparse && halves_summed)
            sparse->combine_halves(i0, i1, params + arch.bias_offset(1), ws.a[1].data());
        else if (l == 1 && sparse)
            kernels.sparse_forward(sparse->input_rows(i0), m, n_in, sparse->wt.data(), sparse->ld,
                                   params + arch.bias_offset(1), n_out, a);
        else
            (l == 1 ? kernels.dense_forward : kernels.hidden_forward)(ws.rows[l].data() + i0, m, n_in,
                                                                      params + arch.weight_offset(l),
                                                                      params + arch.bias_offset(l), n_out, a);
        apply_activation(kernels, act, a, m, n_out);
        if (!training) continue;
        T* d = ws.d[l].data() + i0 * n_out;
        write_derivative_at_output(act, a, d, m * n_out);
        if (l + 1 < L && dropout.p > 0) {
            const uint64_t threshold = dropout_threshold(dropout.p);
            for (int64_t i = 0; i < m; ++i) {
                // The mask depends on the example's place in the mini-batch, not on the split.
                const uint64_t draw = dropout.per_mini_batch ? 0 : static_cast<uint64_t>(i0 + i);
                const uint64_t stream = dropout_stream(dropout.key, step, draw, l);
                for (int64_t j = 0; j < n_out; ++j) {
                    const bool kept = dropout_kept(stream, static_cast<uint64_t>(j), threshold);
                    const T factor = kept ? keep_scale : T(0);
                    a[i * n_out + j] *= factor;
                    d[i * n_out + j] *= factor;
                }
            }
        }
    }
}

// delta of the output layer for examples [i0, i1), from their activations and target rows, then
// the deltas of the layers below (with the weights before this mini-batch's update).
template <class T>
void backward_rows(const Architecture& arch, const KernelTable<T>& kernels, const T* params, int64_t i0, int64_t i1,
                   Workspace<T>& ws, const T* const* target_rows) {
    const size_t L = arch.num_layers() - 1;
    const int64_t n_out = arch.n_out();
    const T* a = ws.a[L].data();
    const T* d = ws.d[L].data();
    T* delta = ws.delta[L].data();
    for (int64_t i = i0; i < i1; ++i) {
        const T* y = target_rows[i];
        for (int64_t j = 0; j < n_out; ++j) {
            const int64_t t = i * n_out + j;
            // cross-entropy with sigmoid and log-likelihood with softmax: the derivative cancels.
            delta[t] = arch.cost == Cost::quadratic ? (a[t] - y[j]) * d[t] : a[t] - y[j];
        }
    }
    for (size_t l = L; l > 1; --l) {
        const int64_t lin = arch.sizes[l - 1], lout = arch.sizes[l];
        kernels.dense_backward(ws.delta[l].data() + i0 * lout, i1 - i0, lout, params + arch.weight_offset(l), lin,
                               ws.d[l - 1].data() + i0 * lin, ws.delta[l - 1].data() + i0 * lin);
    }
}

template <class T>
double example_cost(Cost cost, const T* a, const T* y, int64_t n_out) {
    double total = 0;
    for (int64_t j = 0; j < n_out; ++j) {
        const double aj = a[j], yj = y[j];
        double term = 0;
        switch (cost) {
            case Cost::quadratic:
                term = 0.5 * (aj - yj) * (aj - yj);
                break;
            case Cost::cross_entropy:
                // The book's np.nan_to_num(-y*ln(a) - (1-y)*ln(1-a)): 0*ln(0) counts 0, inf the largest double.
                if (yj != 0) term -= yj * std::log(aj);
                if (yj != 1) term -= (1 - yj) * std::log(1 - aj);
                break;
            case Cost::log_likelihood:
                if (yj != 0) term = -yj * std::log(aj);
                break;
        }
        if (std::isnan(term)) term = 0;
        if (std::isinf(term))
            term = term > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
        total += term;
    }
    return total;
}

// Asks for the input rows of the next mini-batch while this one trains: they are read in shuffled
// order, so the hardware prefetcher cannot guess them, and each row's first cache lines would
// otherwise be waited for. At most kPrefetchBytes, so that a large mini-batch does not push this
// one's data out of L2.
// Into L2, not L1 (locality 2): a mini-batch's rows do not fit in L1 beside the weights. In a
// standalone test of this pattern (10 random MNIST rows a step, float64, 23 us of in-cache work
// between steps), reading the rows took 16.5 ms an epoch after an L1 prefetch and 10.6 ms after
// an L2 one, the prefetch loop itself about as long either way. In training (best of 3 rounds of
// 3 epochs, one core, the two alternating): 784-30-10 m=10 float64 0.169 -> 0.162 s, float32
// 0.093 -> 0.090 s, 784-100-10 m=100 float32 (sparse) 0.175 -> 0.164 s; other shapes within 2%.
// Each part of a mini-batch asks for its share of the next one's rows (Network2Steps).
// (noipa: a function made only of prefetches looks free of side effects to GCC's interprocedural
// analysis, which then deletes its calls.)
constexpr int64_t kPrefetchBytes = 320 * 1024;

// With each input row its target row (n_out values, as scattered: backward_rows waited on them,
// 2.3% of a 784-30-30-30-10 float32 epoch at m=100, on the load of the target).
template <class T>
__attribute__((noipa)) void prefetch_rows(const T* X, int64_t n_in, const T* Y, int64_t n_out, const int64_t* order,
                                          int64_t first, int64_t count, int64_t n, const SparseInputCache<T>* cache) {
    const int64_t row_bytes = n_in * static_cast<int64_t>(sizeof(T));
    const int64_t target_bytes = n_out * static_cast<int64_t>(sizeof(T));
    const int64_t targets = std::min(count, n - first);
    const int64_t rows = std::min(targets, std::max<int64_t>(1, kPrefetchBytes / row_bytes));
    for (int64_t i = 0; i < targets; ++i) {
        const char* target = reinterpret_cast<const char*>(Y + order[first + i] * n_out);
        __builtin_prefetch(target, 0, 2);
        __builtin_prefetch(target + target_bytes - 1, 0, 2);       // its last line, when it has two
        if (cache && cache->prefetch(order[first + i])) continue;  // its kept nonzeros, not its row
        if (i >= rows) continue;
        const char* row = reinterpret_cast<const char*>(X + order[first + i] * n_in);
        for (int64_t byte = 0; byte < row_bytes; byte += 64) __builtin_prefetch(row + byte, 0, 2);
    }
}

// Each weight's EMA of its change in this mini-batch (now; before: as they were), in T as the
// reference engine computes it: E <- (1 - tau) E + tau (w - w_before), or dW for the first. Elementwise,
// so any layout of the three arrays serves (the sparse first layer's is input-major).
template <class T>
void update_weight_emas(T* ema, const T* now, const T* was, int64_t count, const TrainState<T>& state) {
    const T keep = static_cast<T>(1.0 - state.ema_tau), tau = static_cast<T>(state.ema_tau);
    // Two loops rather than a branch per weight, so that each vectorizes.
    if (state.ema_started) {
#pragma omp simd
        for (int64_t i = 0; i < count; ++i) ema[i] = keep * ema[i] + tau * (now[i] - was[i]);
    } else {
#pragma omp simd
        for (int64_t i = 0; i < count; ++i) ema[i] = now[i] - was[i];
    }
}

// network2's side of train_loop (minibatch_loop.hpp): the layers of `arch` in matrix form, the first
// one dense or sparse, dropout on hidden units, and the per-weight moving average of the update.
template <class T>
struct Network2Steps {
    const Architecture& arch;
    const KernelTable<T>& kernels;
    T* params;
    const T* X;
    const T* Y;
    int64_t n;
    const int64_t* order;
    int64_t mini_batch_size;
    int64_t batch_end;
    const Dropout& dropout;
    TrainState<T>& state;
    int threads;
    Workspace<T> ws;
    std::unique_ptr<SparseFirstLayer<T>> sparse;  // layer 1 input-major for this call (written back when freed)
    SparseInputCache<T>* input_cache;             // the SGD call's kept nonzeros (sparse only; may be null)
    std::vector<int64_t> examples;                // this mini-batch's examples, in order
    std::vector<KeptNonzeros> kept;               // per example: its record in input_cache, if any
    std::vector<const T*> target_rows;
    int64_t next_first = 0, next_count = 0;  // the next mini-batch of this call, for the prefetch
    bool ema_weights;
    // The weights before each update, for the per-weight EMA of the update: the fused kernels
    // write the new weights in place, so the change is taken against this copy.
    CacheLineVector<T> before, before_t;

    Network2Steps(const Architecture& arch_, const KernelTable<T>& kernels_, T* params_, const T* X_, const T* Y_,
                  int64_t n_, const int64_t* order_, int64_t mini_batch_size_, int64_t batch_end_,
                  const Dropout& dropout_, TrainState<T>& state_, int threads_, bool sparse_inputs,
                  SparseInputCache<T>* input_cache_)
        : arch(arch_),
          kernels(kernels_),
          params(params_),
          X(X_),
          Y(Y_),
          n(n_),
          order(order_),
          mini_batch_size(mini_batch_size_),
          batch_end(batch_end_),
          dropout(dropout_),
          state(state_),
          threads(threads_),
          ws(arch_, mini_batch_size_),
          input_cache(sparse_inputs ? input_cache_ : nullptr),
          examples(static_cast<size_t>(mini_batch_size_)),
          kept(static_cast<size_t>(mini_batch_size_)),
          target_rows(static_cast<size_t>(mini_batch_size_)),
          ema_weights(state_.update_ema_weights != nullptr && state_.ema_tau > 0) {
        if (sparse_inputs) {
            const size_t w1 = arch.weight_offset(1);
            // Parity halves where a mini-batch can be split by them (two threads or more), and where
            // the change record must come out the same as there (the update's moving average is
            // watched: its sums are the halves' blocks). Otherwise (one thread, no moving average) the
            // rows stay in input order, which the update's loop ends are best predicted in (the
            // halves cost the book's 784-30-10 float32 m=10 4% an epoch on one core), and the change
            // record only says whether every weight is finite, the same in any order.
            const bool halves = threads >= 2 || state.ema_tau > 0;
            sparse = std::make_unique<SparseFirstLayer<T>>(arch, kernels, mini_batch_size, threads, halves, params + w1,
                                                           state.velocity ? state.velocity + w1 : nullptr,
                                                           state.l1_applied ? state.l1_applied + w1 : nullptr,
                                                           ema_weights ? state.update_ema_weights + w1 : nullptr);
        }
        if (input_cache) {
            input_cache->bind(X, n, arch.n_in(), kernels.sparse_lanes);
            sparse->read_kept(kept.data(), input_cache->decoded());
        }
        if (ema_weights) before.resize(static_cast<size_t>(arch.num_params()));
        if (ema_weights && sparse) before_t.resize(sparse->wt.size());
    }

    int start(int64_t batch, int64_t first, int64_t m) {
        const int64_t n_in = arch.n_in(), n_out = arch.n_out();
        for (int64_t i = 0; i < m; ++i) {
            const int64_t example = order[first + i];
            examples[static_cast<size_t>(i)] = example;
            ws.rows[1][static_cast<size_t>(i)] = X + example * n_in;
            target_rows[static_cast<size_t>(i)] = Y + example * n_out;
        }
        next_first = (batch + 1) * mini_batch_size;
        next_count = batch + 1 < batch_end ? std::min(mini_batch_size, n - next_first) : 0;
        const int parts = parts_for(arch, m, threads);
        // Split by parity halves, a mini-batch exchanges between the threads only the halves' sums and
        // the deltas, not the weights: it can pay at any mini-batch size (the book's 784-30-10 float64
        // at m=10, later epochs, one thread against two in the grid of 2026-12-05: 0.120 -> 0.093 s),
        // and the call's trial (split_trial.hpp) says whether it does.
        if (parts == 1 && threads >= 2 && sparse && sparse->half_rows > 0 && m >= 2) return 2;
        return parts;
    }

    // By parity halves (sparse_inputs.hpp) when the first layer has them and the mini-batch is split in two.
    bool by_halves(int parts) const { return sparse && sparse->half_rows > 0 && parts == 2; }
    int phases(int parts) const { return by_halves(parts) ? 3 : 1; }

    int64_t forward_backward(int phase, int p, int parts, int64_t m) {
        if (by_halves(parts)) return forward_backward_by_halves(phase, p, m);
        const int64_t n_in = arch.n_in();
        const Range rows = part_range(m, parts, p, kExampleAlign);
        // Each part asks for its share of the next mini-batch's rows: on the main thread alone, with
        // the other threads waiting, the prefetch was serial work.
        if (next_count > 0) {
            const Range next = part_range(next_count, parts, p, 1);
            prefetch_rows(X, n_in, Y, arch.n_out(), order, next_first + next.begin, next.end - next.begin, n,
                          input_cache);
        }
        const T* const* first_rows = ws.rows[1].data() + rows.begin;
        // Read from main memory: checked by each part as it reads, so that the waits overlap.
        const int64_t bad =
            sparse ? gather_rows(rows) : kernels.first_nonfinite_row(first_rows, rows.end - rows.begin, n_in);
        if (bad >= 0) return rows.begin + bad;
        if (sparse) sparse->sort_by_input(m, rows, p, sparse->by_codes(m, parts == 1));  // while its entries are in L1
        forward_rows(arch, kernels, params, rows.begin, rows.end, ws, true, dropout, state.step, sparse.get());
        backward_rows(arch, kernels, params, rows.begin, rows.end, ws, target_rows.data());
        if (sparse) sparse->pad_deltas(ws.delta[1].data(), rows.begin, rows.end);  // for the update, on the threads
        return -1;
    }

    // The three phases of a mini-batch split by parity halves, p = 0, 1 each: (0) read the rows of
    // example half p (gather, or note their kept records); (1) sort and sum parity half p of every
    // example; (2) add the halves' sums and run the rest of the network on example half p.
    int64_t forward_backward_by_halves(int phase, int p, int64_t m) {
        const int64_t n_in = arch.n_in();
        const Range rows = part_range(m, 2, p, kExampleAlign);
        if (phase == 0) {
            // Both threads read every example's record in phase 1: each asks for all of the next ones.
            if (next_count > 0) prefetch_rows(X, n_in, Y, arch.n_out(), order, next_first, next_count, n, input_cache);
            const int64_t bad = gather_rows(rows);
            return bad >= 0 ? rows.begin + bad : -1;
        }
        if (phase == 1) {
            sparse->sort_by_parity(m, p);
            kernels.sparse_forward_half(sparse->input_rows(0), m, n_in, sparse->wt.data(), sparse->ld, p,
                                        sparse->half_sums[p].data());
            return -1;
        }
        forward_rows(arch, kernels, params, rows.begin, rows.end, ws, true, dropout, state.step, sparse.get(), true);
        backward_rows(arch, kernels, params, rows.begin, rows.end, ws, target_rows.data());
        sparse->pad_deltas(ws.delta[1].data(), rows.begin, rows.end);
        return -1;
    }

    // The nonzeros of the mini-batch's rows `rows` into the sparse layer's per-example slots, gathered
    // from X, except for the examples the input cache holds: their records are noted in `kept`, where
    // the sorts and the forward product read them (and their group counts and starts:
    // SparseFirstLayer::note_kept). The examples gathered are kept. Returns the
    // first of the rows, counted from rows.begin, holding a NaN or an infinity, or -1.
    int64_t gather_rows(Range rows) {
        const int64_t n_in = arch.n_in();
        auto slots = [&](int64_t i) {
            return std::make_tuple(&sparse->index[static_cast<size_t>(i * n_in)],
                                   &sparse->value[static_cast<size_t>(i * n_in)],
                                   &sparse->count[static_cast<size_t>(i * sparse->groups)]);
        };
        if (!input_cache) {
            auto [index, value, count] = slots(rows.begin);
            return kernels.gather_nonzeros(ws.rows[1].data() + rows.begin, rows.end - rows.begin, n_in,
                                           sparse->half_rows, index, value, count);
        }
        for (int64_t i = rows.begin; i < rows.end; ++i) {
            auto [index, value, count] = slots(i);
            const int64_t example = examples[static_cast<size_t>(i)];
            kept[static_cast<size_t>(i)] = input_cache->record(example);
            if (kept[static_cast<size_t>(i)].counts) {
                sparse->note_kept(i);
                continue;
            }
            if (kernels.gather_nonzeros(ws.rows[1].data() + i, 1, n_in, sparse->half_rows, index, value, count) >= 0)
                return i - rows.begin;
            input_cache->keep(example, index, value, count);
        }
        return -1;
    }

    void before_update(int64_t /*m*/, int /*parts*/) {
        if (ema_weights) std::copy(params, params + arch.num_params(), before.begin());
        if (sparse && ema_weights) std::copy(sparse->wt.begin(), sparse->wt.end(), before_t.begin());
    }

    void update(int p, int parts, int64_t m, const UpdateStep<T>& step) {
        if (sparse) {
            const Range biases = part_range(arch.sizes[1], parts, p, 1);
            // Split by halves, part p updates half p, whose runs it sorted whole; otherwise its share
            // of the inputs (of both halves, in turns, when there are halves), once the runs are joined.
            const bool own_half = by_halves(parts);
            const Range inputs = own_half ? sparse->half_range(p) : sparse->input_range(parts, p);
            if (!own_half) sparse->join_parts(m, inputs, parts);
            // The change record feeds the update's moving average when it is watched; otherwise only the
            // divergence check, which asks whether it is finite (after_update, train_loop).
            kernels.sparse_update(sparse->row_entries(m, sparse->by_codes(m, own_half || parts == 1)),
                                  sparse->delta_pad.data(), inputs.begin, inputs.end, own_half ? 0 : sparse->half_rows,
                                  sparse->ld, sparse->wt.data(), step,
                                  state.velocity ? sparse->velocity_t.data() : nullptr,
                                  state.l1_applied ? sparse->l1_applied_t.data() : nullptr, sparse->row_change.data(),
                                  /*every_row=*/state.ema_tau > 0);
            // The biases' deltas read from the padded copy the weights' update has just read, not from
            // delta[1]: split by halves, half of those rows were written by the other core, and reading
            // them twice from it (and then taking its lines back for the next backward pass) cost 3.7k
            // + 1.5k cycles of a 380k mini-batch (784-100-10 float32 m=100, two threads).
            kernels.bias_update(
                sparse->delta_pad.data(), m, sparse->ld, biases.begin, biases.end, params + arch.bias_offset(1), step,
                state.velocity ? state.velocity + arch.bias_offset(1) : nullptr, sparse->bias_change.data());
        }
        for (size_t l = sparse ? 2 : 1; l < arch.num_layers(); ++l) {
            const int64_t lin = arch.sizes[l - 1], lout = arch.sizes[l];
            const Range neurons = part_range(lout, parts, p, kNeuronAlign);
            kernels.fused_update(ws.delta[l].data(), ws.rows[l].data(), m, lout, neurons.begin, neurons.end, lin,
                                 params + arch.weight_offset(l), params + arch.bias_offset(l), step,
                                 state.velocity ? state.velocity + arch.weight_offset(l) : nullptr,
                                 state.velocity ? state.velocity + arch.bias_offset(l) : nullptr,
                                 state.l1_applied ? state.l1_applied + arch.weight_offset(l) : nullptr,
                                 ws.row_change[l].data());
        }
    }

    double after_update(int64_t) {
        const size_t L = arch.num_layers();
        double abs_change = 0;
        if (sparse) abs_change += fixed_order_sum(sparse->row_change) + fixed_order_sum(sparse->bias_change);
        for (size_t l = sparse ? 2 : 1; l < L; ++l) abs_change += fixed_order_sum(ws.row_change[l]);
        if (ema_weights) {
            if (sparse)
                update_weight_emas(sparse->ema_t.data(), sparse->wt.data(), before_t.data(),
                                   static_cast<int64_t>(sparse->wt.size()), state);
            for (size_t l = sparse ? 2 : 1; l < L; ++l) {
                const size_t first = arch.weight_offset(l);
                update_weight_emas(state.update_ema_weights + first, params + first, before.data() + first,
                                   arch.sizes[l] * arch.sizes[l - 1], state);
            }
        }
        return abs_change;
    }
};

}  // namespace

template <class T>
ChunkResult train_minibatches(const Architecture& arch, T* params, const T* X, const T* Y, int64_t n,
                              const int64_t* order, int64_t mini_batch_size, int64_t batch_begin, int64_t batch_end,
                              const UpdateRule& rule, const Dropout& dropout, TrainState<T>& state, bool sparse_inputs,
                              SparseInputCache<T>* input_cache) {
    const int threads = num_threads();  // once per call: asking the pool costs a system call (its fork check)
    Network2Steps<T> steps(arch, active_kernels().table<T>(), params, X, Y, n, order, mini_batch_size, batch_end,
                           dropout, state, threads, sparse_inputs, input_cache);
    return train_loop<T>(steps, n, mini_batch_size, batch_begin, batch_end, rule, state,
                         static_cast<double>(arch.num_weights()), threads);
}

template <class T>
void backprop(const Architecture& arch, const T* params, const T* X, const T* Y, int64_t m, T* grad) {
    const KernelTable<T>& kernels = active_kernels().table<T>();
    const int64_t n_in = arch.n_in(), n_out = arch.n_out();
    Workspace<T> ws(arch, m);
    std::vector<const T*> target_rows(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
        ws.rows[1][static_cast<size_t>(i)] = X + i * n_in;
        target_rows[static_cast<size_t>(i)] = Y + i * n_out;
    }
    forward_rows(arch, kernels, params, 0, m, ws, true, Dropout{}, 0);
    backward_rows(arch, kernels, params, 0, m, ws, target_rows.data());
    for (size_t l = 1; l < arch.num_layers(); ++l)
        kernels.dense_weight_gradient(ws.delta[l].data(), ws.rows[l].data(), m, arch.sizes[l], arch.sizes[l - 1],
                                      grad + arch.weight_offset(l), grad + arch.bias_offset(l));
}

namespace {

constexpr int64_t kEvalBlock = 256;  // rows per forward block when evaluating

// Forward passes of k rows in blocks of kEvalBlock on the threads (forward_in_blocks), each part with
// its own workspace. visit(block, first, m, a_out) sees each block's output activations on the
// part's thread. With check_inputs, a block holding a NaN or an infinity is not visited and the
// first such row is returned; -1 otherwise.
template <class T, class Visit>
int64_t forward_blocks(const Architecture& arch, const T* params, const T* X, int64_t k, bool check_inputs,
                       Visit visit) {
    const KernelTable<T>& kernels = active_kernels().table<T>();
    const int64_t n_in = arch.n_in();
    return forward_in_blocks(
        k, kEvalBlock, parts_for(arch, k, num_threads()),
        [&] { return Workspace<T>(arch, std::min<int64_t>(kEvalBlock, std::max<int64_t>(k, 1))); },
        [&](Workspace<T>& ws, int64_t first, int64_t m) -> int64_t {
            for (int64_t i = 0; i < m; ++i) ws.rows[1][static_cast<size_t>(i)] = X + (first + i) * n_in;
            const int64_t bad = check_inputs ? kernels.first_nonfinite_row(ws.rows[1].data(), m, n_in) : -1;
            if (bad >= 0) return first + bad;
            forward_rows(arch, kernels, params, 0, m, ws, false, Dropout{}, 0);
            return -1;
        },
        [&](Workspace<T>& ws, int64_t block, int64_t first, int64_t m) {
            visit(block, first, m, static_cast<const T*>(ws.a[arch.num_layers() - 1].data()));
        });
}

}  // namespace

template <class T>
void feedforward(const Architecture& arch, const T* params, const T* X, int64_t k, T* out) {
    const int64_t n_out = arch.n_out();
    forward_blocks<T>(arch, params, X, k, false, [&](int64_t, int64_t first, int64_t m, const T* a_out) {
        std::copy(a_out, a_out + m * n_out, out + first * n_out);
    });
}

template <class T>
Evaluation evaluate(const Architecture& arch, const T* params, const T* X, const T* Y, const int64_t* labels,
                    int64_t n) {
    const int64_t n_out = arch.n_out();
    const int64_t blocks = (n + kEvalBlock - 1) / kEvalBlock;
    // Per-block sums, added up in block order afterwards: the total does not depend on threads.
    std::vector<double> block_cost(static_cast<size_t>(blocks), 0.0);
    std::vector<int64_t> block_correct(static_cast<size_t>(blocks), 0);
    const int64_t nonfinite_row =
        forward_blocks<T>(arch, params, X, n, true, [&](int64_t block, int64_t first, int64_t m, const T* a_out) {
            std::vector<T> one_hot(static_cast<size_t>(n_out));
            double cost = 0;
            int64_t correct = 0;
            for (int64_t i = 0; i < m; ++i) {
                const int64_t e = first + i;
                const T* a = a_out + i * n_out;
                const T* y = Y ? Y + e * n_out : nullptr;
                const int64_t label = labels ? labels[e] : static_cast<int64_t>(std::max_element(y, y + n_out) - y);
                if (!y) {
                    std::fill(one_hot.begin(), one_hot.end(), T(0));
                    one_hot[static_cast<size_t>(label)] = T(1);
                    y = one_hot.data();
                }
                cost += example_cost(arch.cost, a, y, n_out);
                // np.argmax: the first of equal maxima.
                if (std::max_element(a, a + n_out) - a == label) ++correct;
            }
            block_cost[static_cast<size_t>(block)] = cost;
            block_correct[static_cast<size_t>(block)] = correct;
        });
    Evaluation result;
    result.nonfinite_row = nonfinite_row;
    for (int64_t b = 0; b < blocks; ++b) {
        result.cost_sum += block_cost[static_cast<size_t>(b)];
        result.correct += block_correct[static_cast<size_t>(b)];
    }
    return result;
}

#define NNDL_INSTANTIATE(T)                                                                                         \
    template ChunkResult train_minibatches<T>(const Architecture&, T*, const T*, const T*, int64_t, const int64_t*, \
                                              int64_t, int64_t, int64_t, const UpdateRule&, const Dropout&,         \
                                              TrainState<T>&, bool, SparseInputCache<T>*);                          \
    template void backprop<T>(const Architecture&, const T*, const T*, const T*, int64_t, T*);                      \
    template void feedforward<T>(const Architecture&, const T*, const T*, int64_t, T*);                             \
    template Evaluation evaluate<T>(const Architecture&, const T*, const T*, const T*, const int64_t*, int64_t);

NNDL_INSTANTIATE(float)
NNDL_INSTANTIATE(double)

}  // namespace nndl
