// Matrix-form forward and backward passes over a whole mini-batch, and the training loop.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nndl/dropout_rng.hpp"
#include "nndl/kernels.hpp"
#include "nndl/train.hpp"

namespace nndl {
namespace {

template <class T>
T activation_derivative(Activation act, T a) {
    switch (act) {
        case Activation::sigmoid: return a * (T(1) - a);
        case Activation::tanh: return T(1) - a * a;
        case Activation::relu: return a > 0 ? T(1) : T(0);
        case Activation::softmax: break;  // only ever paired with the log-likelihood cost
    }
    return T(1);
}

template <class T>
void apply_activation(Activation act, T* z, int64_t m, int64_t width) {
    const int64_t count = m * width;
    switch (act) {
        case Activation::sigmoid:
            for (int64_t t = 0; t < count; ++t) z[t] = T(1) / (T(1) + std::exp(-z[t]));
            break;
        case Activation::tanh:
            for (int64_t t = 0; t < count; ++t) z[t] = std::tanh(z[t]);
            break;
        case Activation::relu:
            for (int64_t t = 0; t < count; ++t) z[t] = z[t] > 0 ? z[t] : T(0);
            break;
        case Activation::softmax:
            for (int64_t i = 0; i < m; ++i) {
                T* row = z + i * width;
                const T top = *std::max_element(row, row + width);
                T total = 0;
                for (int64_t j = 0; j < width; ++j) total += (row[j] = std::exp(row[j] - top));
                for (int64_t j = 0; j < width; ++j) row[j] /= total;
            }
            break;
    }
}

// Per-call scratch: activations, derivative factors and errors of every layer for one batch.
template <class T>
struct Workspace {
    std::vector<std::vector<T>> a, d, delta;  // index l = 1 .. L-1, each (m, sizes[l])
    std::vector<const T*> input_rows, rows;
    std::vector<T> g_row;

    Workspace(const Architecture& arch, int64_t m)
        : a(arch.num_layers()), d(arch.num_layers()), delta(arch.num_layers()),
          input_rows(static_cast<size_t>(m)), rows(static_cast<size_t>(m)),
          g_row(static_cast<size_t>(arch.widest())) {
        for (size_t l = 1; l < arch.num_layers(); ++l) {
            const size_t cells = static_cast<size_t>(m * arch.sizes[l]);
            a[l].resize(cells);
            d[l].resize(cells);
            delta[l].resize(cells);
        }
    }

    // Row pointers to the inputs of layer l for the current batch of m examples.
    const T* const* inputs_of(const Architecture& arch, size_t l, int64_t m) {
        if (l == 1) return input_rows.data();
        for (int64_t i = 0; i < m; ++i) rows[static_cast<size_t>(i)] = a[l - 1].data() + i * arch.sizes[l - 1];
        return rows.data();
    }
};

// Forward pass of m examples whose inputs are ws.input_rows. With training set, also fills the
// derivative factors d (activation' times the dropout factor) that backprop needs.
template <class T>
void forward(const Architecture& arch, const T* params, int64_t m, Workspace<T>& ws, bool training,
             const Dropout& dropout, uint64_t step) {
    const size_t L = arch.num_layers();
    const T keep_scale = dropout.p > 0 ? static_cast<T>(1.0 / (1.0 - dropout.p)) : T(1);
    for (size_t l = 1; l < L; ++l) {
        const int64_t n_in = arch.sizes[l - 1], n_out = arch.sizes[l];
        const Activation act = arch.activations[l - 1];
        T* a = ws.a[l].data();
        dense_forward(ws.inputs_of(arch, l, m), m, n_in, params + arch.weight_offset(l), params + arch.bias_offset(l),
                      n_out, a);
        apply_activation(act, a, m, n_out);
        if (!training) continue;
        T* d = ws.d[l].data();
        const bool hidden = l + 1 < L;
        for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n_out; ++j) {
                const int64_t t = i * n_out + j;
                d[t] = activation_derivative(act, a[t]);
                if (hidden && dropout.p > 0) {
                    const bool kept = dropout_uniform(dropout.key, step, static_cast<uint64_t>(i), l,
                                                      static_cast<uint64_t>(j)) >= dropout.p;
                    const T factor = kept ? keep_scale : T(0);
                    a[t] *= factor;
                    d[t] *= factor;
                }
            }
        }
    }
}

// delta of the output layer, from its activations and the targets Y rows.
template <class T>
void output_delta(const Architecture& arch, int64_t m, Workspace<T>& ws, const T* const* target_rows) {
    const size_t L = arch.num_layers() - 1;
    const int64_t n_out = arch.n_out();
    const T* a = ws.a[L].data();
    const T* d = ws.d[L].data();
    T* delta = ws.delta[L].data();
    for (int64_t i = 0; i < m; ++i) {
        const T* y = target_rows[i];
        for (int64_t j = 0; j < n_out; ++j) {
            const int64_t t = i * n_out + j;
            // cross-entropy with sigmoid and log-likelihood with softmax: the derivative cancels.
            delta[t] = arch.cost == Cost::quadratic ? (a[t] - y[j]) * d[t] : a[t] - y[j];
        }
    }
}

template <class T>
double example_cost(Cost cost, const T* a, const T* y, int64_t n_out) {
    double total = 0;
    for (int64_t j = 0; j < n_out; ++j) {
        const double aj = a[j], yj = y[j];
        double term = 0;
        switch (cost) {
            case Cost::quadratic: term = 0.5 * (aj - yj) * (aj - yj); break;
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
        if (std::isinf(term)) term = term > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
        total += term;
    }
    return total;
}

}  // namespace

template <class T>
ChunkResult train_minibatches(const Architecture& arch, T* params, const T* X, const T* Y, int64_t n,
                              const int64_t* order, int64_t mini_batch_size, int64_t batch_begin,
                              int64_t batch_end, const UpdateRule& rule, const Dropout& dropout,
                              TrainState<T>& state) {
    ChunkResult result;
    const int64_t n_in = arch.n_in(), n_out = arch.n_out();
    const size_t L = arch.num_layers();
    Workspace<T> ws(arch, mini_batch_size);
    std::vector<const T*> target_rows(static_cast<size_t>(mini_batch_size));
    const double num_weights = static_cast<double>(arch.num_weights());
    for (int64_t batch = batch_begin; batch < batch_end; ++batch) {
        const int64_t first = batch * mini_batch_size;
        const int64_t m = std::min(mini_batch_size, n - first);
        for (int64_t i = 0; i < m; ++i) {
            const int64_t example = order[first + i];
            ws.input_rows[static_cast<size_t>(i)] = X + example * n_in;
            target_rows[static_cast<size_t>(i)] = Y + example * n_out;
        }
        forward(arch, params, m, ws, true, dropout, state.step);
        output_delta(arch, m, ws, target_rows.data());

        if (rule.l1_method == L1Method::cumulative) state.l1_total += rule.eta * rule.l1_lmbda() / static_cast<double>(rule.n);
        const UpdateStep<T> step(rule, m, state.l1_total);
        double abs_change = 0, finite = 0;
        for (size_t l = L - 1; l >= 1; --l) {
            const int64_t lin = arch.sizes[l - 1], lout = arch.sizes[l];
            T* W = params + arch.weight_offset(l);
            const T* const* inputs = ws.inputs_of(arch, l, m);
            // The error one layer down uses the weights before this mini-batch's update.
            if (l > 1) dense_backward(ws.delta[l].data(), m, lout, W, lin, ws.d[l - 1].data(), ws.delta[l - 1].data());
            const FusedUpdateStats stats = fused_regularized_update(
                ws.delta[l].data(), inputs, m, lout, lin, W, params + arch.bias_offset(l), step,
                state.velocity ? state.velocity + arch.weight_offset(l) : nullptr,
                state.velocity ? state.velocity + arch.bias_offset(l) : nullptr,
                state.l1_applied ? state.l1_applied + arch.weight_offset(l) : nullptr, ws.g_row.data());
            abs_change += stats.abs_change;
            finite += stats.finite;
        }
        ++state.step;
        ++result.batches_done;
        if (state.ema_tau > 0) {
            const double mean_change = abs_change / num_weights;
            state.update_ema = state.ema_started ? (1 - state.ema_tau) * state.update_ema + state.ema_tau * mean_change
                                                 : mean_change;
            state.ema_started = true;
        }
        if (finite != 0 || std::isnan(finite)) {
            result.diverged = true;
            break;
        }
    }
    return result;
}

template <class T>
void backprop(const Architecture& arch, const T* params, const T* X, const T* Y, int64_t m, T* grad) {
    const int64_t n_in = arch.n_in(), n_out = arch.n_out();
    const size_t L = arch.num_layers();
    Workspace<T> ws(arch, m);
    std::vector<const T*> target_rows(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
        ws.input_rows[static_cast<size_t>(i)] = X + i * n_in;
        target_rows[static_cast<size_t>(i)] = Y + i * n_out;
    }
    forward(arch, params, m, ws, true, Dropout{}, 0);
    output_delta(arch, m, ws, target_rows.data());
    for (size_t l = L - 1; l >= 1; --l) {
        const int64_t lin = arch.sizes[l - 1], lout = arch.sizes[l];
        const T* W = params + arch.weight_offset(l);
        if (l > 1) dense_backward(ws.delta[l].data(), m, lout, W, lin, ws.d[l - 1].data(), ws.delta[l - 1].data());
        dense_weight_gradient(ws.delta[l].data(), ws.inputs_of(arch, l, m), m, lout, lin, grad + arch.weight_offset(l),
                              grad + arch.bias_offset(l));
    }
}

namespace {
constexpr int64_t kEvalBlock = 256;  // rows per forward block when evaluating
}

template <class T>
void feedforward(const Architecture& arch, const T* params, const T* X, int64_t k, T* out) {
    const int64_t n_in = arch.n_in(), n_out = arch.n_out();
    Workspace<T> ws(arch, std::min<int64_t>(kEvalBlock, std::max<int64_t>(k, 1)));
    const T* last = nullptr;
    for (int64_t first = 0; first < k; first += kEvalBlock) {
        const int64_t m = std::min(kEvalBlock, k - first);
        for (int64_t i = 0; i < m; ++i) ws.input_rows[static_cast<size_t>(i)] = X + (first + i) * n_in;
        forward(arch, params, m, ws, false, Dropout{}, 0);
        last = ws.a[arch.num_layers() - 1].data();
        std::copy(last, last + m * n_out, out + first * n_out);
    }
}

template <class T>
Evaluation evaluate(const Architecture& arch, const T* params, const T* X, const T* Y, const int64_t* labels,
                    int64_t n) {
    Evaluation result;
    const int64_t n_in = arch.n_in(), n_out = arch.n_out();
    Workspace<T> ws(arch, std::min<int64_t>(kEvalBlock, std::max<int64_t>(n, 1)));
    std::vector<T> one_hot(static_cast<size_t>(n_out));
    for (int64_t first = 0; first < n; first += kEvalBlock) {
        const int64_t m = std::min(kEvalBlock, n - first);
        for (int64_t i = 0; i < m; ++i) ws.input_rows[static_cast<size_t>(i)] = X + (first + i) * n_in;
        forward(arch, params, m, ws, false, Dropout{}, 0);
        const T* a_out = ws.a[arch.num_layers() - 1].data();
        for (int64_t i = 0; i < m; ++i) {
            const int64_t e = first + i;
            const T* a = a_out + i * n_out;
            const T* y = Y ? Y + e * n_out : nullptr;
            int64_t label;
            if (labels) {
                label = labels[e];
            } else {
                label = static_cast<int64_t>(std::max_element(y, y + n_out) - y);
            }
            if (!y) {
                std::fill(one_hot.begin(), one_hot.end(), T(0));
                one_hot[static_cast<size_t>(label)] = T(1);
                y = one_hot.data();
            }
            result.cost_sum += example_cost(arch.cost, a, y, n_out);
            // np.argmax: the first of equal maxima.
            if (std::max_element(a, a + n_out) - a == label) ++result.correct;
        }
    }
    return result;
}

#define NNDL_INSTANTIATE(T)                                                                                         \
    template ChunkResult train_minibatches<T>(const Architecture&, T*, const T*, const T*, int64_t, const int64_t*, \
                                              int64_t, int64_t, int64_t, const UpdateRule&, const Dropout&,         \
                                              TrainState<T>&);                                                      \
    template void backprop<T>(const Architecture&, const T*, const T*, const T*, int64_t, T*);                      \
    template void feedforward<T>(const Architecture&, const T*, const T*, int64_t, T*);                             \
    template Evaluation evaluate<T>(const Architecture&, const T*, const T*, const T*, const int64_t*, int64_t);

NNDL_INSTANTIATE(float)
NNDL_INSTANTIATE(double)

}  // namespace nndl
