// network3's layer list in C++: the stack's shape checks, and its forward and backward passes over a
// mini-batch through the layers (layers/), driven by the training loop both fronts share
// (minibatch_loop.hpp: its threads and contracts are network2's).
#include "nndl/layer_stack.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nndl/cache_line_vector.hpp"
#include "nndl/kernel_table.hpp"
#include "nndl/layers/conv_pool.hpp"
#include "nndl/layers/dense.hpp"
#include "nndl/layers/softmax.hpp"
#include "nndl/minibatch_loop.hpp"
#include "nndl/thread_pool.hpp"
#include "nndl/work_split.hpp"

namespace nndl {

int64_t LayerSpec::in_size() const { return kind == LayerKind::conv_pool ? channels * height * width : n_in; }
int64_t LayerSpec::out_size() const {
    if (kind != LayerKind::conv_pool) return n_out;
    return filters * ((height - filter_h + 1) / pool_h) * ((width - filter_w + 1) / pool_w);
}
int64_t LayerSpec::num_weights() const {
    return kind == LayerKind::conv_pool ? filters * channels * filter_h * filter_w : n_in * n_out;
}
int64_t LayerSpec::num_biases() const { return kind == LayerKind::conv_pool ? filters : n_out; }

LayerStack::LayerStack(std::vector<LayerSpec> specs) : specs_(std::move(specs)) {
    static std::atomic<uint64_t> next_id{1};
    id_ = next_id.fetch_add(1);
    if (specs_.empty()) throw std::invalid_argument("layers: a network needs at least one layer");
    offsets_.push_back(0);
    for (size_t l = 0; l < specs_.size(); ++l) {
        const LayerSpec& s = specs_[l];
        const std::string at = "layer " + std::to_string(l) + ": ";
        if (s.kind == LayerKind::conv_pool) {
            if (s.channels < 1 || s.height < 1 || s.width < 1)
                throw std::invalid_argument("image_shape: " + at + "the image needs at least one channel and pixel");
            if (s.filters < 1 || s.filter_h < 1 || s.filter_w < 1)
                throw std::invalid_argument("filter_shape: " + at + "needs at least one filter of at least 1x1");
            if (s.filter_h > s.height || s.filter_w > s.width)
                throw std::invalid_argument("filter_shape: " + at + "a " + std::to_string(s.filter_h) + "x" +
                                            std::to_string(s.filter_w) + " filter does not fit a " +
                                            std::to_string(s.height) + "x" + std::to_string(s.width) + " image");
            if (s.pool_h < 1 || s.pool_w < 1 || s.pool_h > s.height - s.filter_h + 1 ||
                s.pool_w > s.width - s.filter_w + 1)
                throw std::invalid_argument("poolsize: " + at + "the pooling window must fit the convolution's output");
            if (s.activation == LayerActivation::softmax)
                throw std::invalid_argument("activation_fn: " + at + "softmax is the SoftmaxLayer's");
        } else {
            if (s.n_in < 1 || s.n_out < 1)
                throw std::invalid_argument("n_in: " + at + "n_in and n_out must be at least 1");
            if (!(s.p_dropout >= 0 && s.p_dropout < 1))
                throw std::invalid_argument("p_dropout: " + at + "must be in [0, 1)");
            if ((s.kind == LayerKind::softmax) != (s.activation == LayerActivation::softmax))
                throw std::invalid_argument("activation_fn: " + at + "softmax goes with the softmax layer only");
        }
        if ((s.kind == LayerKind::softmax) != (l + 1 == specs_.size()))
            throw std::invalid_argument("layers: the last layer, and only the last, must be a softmax layer");
        if (l > 0 && s.in_size() != specs_[l - 1].out_size())
            throw std::invalid_argument(std::string(s.kind == LayerKind::conv_pool ? "image_shape: " : "n_in: ") + at +
                                        "takes " + std::to_string(s.in_size()) + " inputs but layer " +
                                        std::to_string(l - 1) + " gives " + std::to_string(specs_[l - 1].out_size()));
        offsets_.push_back(offsets_.back() + static_cast<size_t>(s.num_weights() + s.num_biases()));
    }
}

int64_t LayerStack::num_weights() const {
    int64_t total = 0;
    for (const LayerSpec& s : specs_) total += s.num_weights();
    return total;
}

template <class T>
std::vector<std::unique_ptr<Layer<T>>> make_layers(const LayerStack& stack) {
    std::vector<std::unique_ptr<Layer<T>>> layers;
    for (size_t l = 0; l < stack.num_layers(); ++l) {
        const LayerSpec& s = stack.specs()[l];
        if (s.kind == LayerKind::conv_pool) {
            const ConvGeometry g{s.channels, s.height, s.width, s.filters, s.filter_h, s.filter_w};
            layers.push_back(std::make_unique<ConvPoolLayer<T>>(g, s.pool_h, s.pool_w, s.activation,
                                                                stack.weight_offset(l), stack.bias_offset(l)));
        } else {
            layers.push_back(std::make_unique<DenseLayer<T>>(s.n_in, s.n_out, s.activation, s.p_dropout, l,
                                                             stack.weight_offset(l), stack.bias_offset(l)));
        }
    }
    return layers;
}

namespace {

// Below this many multiply-adds per parallel region a thread hand-off costs more than it saves
// (network.cpp's threshold).
constexpr double kParallelMinMacs = 1.5e6;
// Row tiles of the SIMD kernels: splits at multiples of these keep tiles whole.
constexpr int64_t kExampleAlign = 2, kUnitAlign = 5;
static_assert(kExampleAlign % kConvGradientBlock == 0, "a thread's examples must be whole blocks of the conv gradient");
// Examples per forward block when evaluating: the conv layers' patch matrices of a block stay small.
constexpr int64_t kEvalBlock = 32;

double macs_per_example(const LayerStack& stack) {
    double macs = 0;
    for (const LayerSpec& s : stack.specs()) {
        if (s.kind == LayerKind::conv_pool)
            macs += static_cast<double>(s.num_weights() * (s.height - s.filter_h + 1) * (s.width - s.filter_w + 1));
        else
            macs += static_cast<double>(s.num_weights());
    }
    return macs;
}

int parts_for(const LayerStack& stack, int64_t rows, int threads) {
    if (threads <= 1 || static_cast<double>(rows) * macs_per_example(stack) < kParallelMinMacs) return 1;
    return static_cast<int>(std::min<int64_t>(threads, rows));
}

// The layers of one thread of work and the activations and errors of a mini-batch of m.
template <class T>
struct StackWorkspace {
    std::vector<std::unique_ptr<Layer<T>>> layers;
    std::vector<CacheLineVector<T>> out, delta;  // per layer, (m, out_size)
    std::vector<std::vector<const T*>> rows;     // per layer: m pointers to its inputs (layer 0: rows of X)
    std::vector<std::vector<double>> change;     // per layer, one per unit: from the fused update

    StackWorkspace(const LayerStack& stack, int64_t m) : layers(make_layers<T>(stack)) {
        const size_t L = layers.size();
        out.resize(L), delta.resize(L), rows.resize(L), change.resize(L);
        for (size_t l = 0; l < L; ++l) {
            layers[l]->reserve(m);
            const int64_t width = layers[l]->out_size();
            out[l].resize(static_cast<size_t>(m * width));
            delta[l].resize(static_cast<size_t>(m * width));
            change[l].resize(static_cast<size_t>(layers[l]->units()));
            rows[l].resize(static_cast<size_t>(m));
            if (l > 0)
                for (int64_t i = 0; i < m; ++i)
                    rows[l][static_cast<size_t>(i)] = out[l - 1].data() + i * layers[l - 1]->out_size();
        }
    }
    StackWorkspace(const StackWorkspace&) = delete;  // rows point into this object's own buffers
    StackWorkspace& operator=(const StackWorkspace&) = delete;
    StackWorkspace(StackWorkspace&&) = default;

    void forward(const KernelTable<T>& kernels, const T* params, int64_t i0, int64_t i1, const DropoutDraw* dropout) {
        for (size_t l = 0; l < layers.size(); ++l)
            layers[l]->forward(kernels, params, rows[l].data(), i0, i1, out[l].data(), dropout);
    }

    // Errors of every layer for examples [i0, i1), from the labels at label_rows.
    void backward(const KernelTable<T>& kernels, const T* params, int64_t i0, int64_t i1, const int64_t* labels) {
        const size_t last = layers.size() - 1;
        log_likelihood_delta(out[last].data(), labels, i0, i1, layers[last]->out_size(), delta[last].data());
        for (size_t l = last + 1; l-- > 0;) {
            T* grad_in = l > 0 ? delta[l - 1].data() : nullptr;
            layers[l]->backward(kernels, params, rows[l].data(), delta[l].data(), i0, i1, grad_in);
            if (l > 0) {
                const int64_t width = layers[l - 1]->out_size();
                multiply_by_derivative(activations[l - 1], out[l - 1].data() + i0 * width, grad_in + i0 * width,
                                       (i1 - i0) * width);
            }
        }
    }

    std::vector<LayerActivation> activations;
};

template <class T>
StackWorkspace<T> make_workspace(const LayerStack& stack, int64_t m) {
    StackWorkspace<T> ws(stack, m);
    for (const LayerSpec& s : stack.specs()) ws.activations.push_back(s.activation);
    return ws;
}

// The training workspace of the last stack and mini-batch size this thread trained, kept between
// calls: SGD calls in chunks of a few mini-batches, and at m = 100 a fresh workspace (tens of MB)
// cost more in page faults than the training itself (half the time of a two-conv epoch, measured
// with perf). Everything in it is overwritten before it is read, so reuse changes no result.
template <class T>
StackWorkspace<T>& cached_workspace(const LayerStack& stack, int64_t m) {
    thread_local std::unique_ptr<StackWorkspace<T>> cached;
    thread_local uint64_t cached_id = 0;
    thread_local int64_t cached_m = 0;
    if (!cached || cached_id != stack.id() || cached_m != m) {
        cached.reset();  // free the old one first
        cached = std::make_unique<StackWorkspace<T>>(make_workspace<T>(stack, m));
        cached_id = stack.id();
        cached_m = m;
    }
    return *cached;
}

}  // namespace

namespace {

// network3's side of train_loop (minibatch_loop.hpp): the stack's layers, each forward, backward and
// update in its own class, the masks of dropout on a layer's inputs drawn by the layer.
template <class T>
struct StackSteps {
    const LayerStack& stack;
    const KernelTable<T>& kernels;
    T* params;
    const T* X;
    const int64_t* labels;
    const int64_t* order;
    uint64_t dropout_key;
    TrainState<T>& state;
    int threads;
    StackWorkspace<T>& ws;
    std::vector<int64_t> batch_labels;

    int start(int64_t, int64_t first, int64_t m) {
        for (int64_t i = 0; i < m; ++i) {
            const int64_t example = order[first + i];
            ws.rows[0][static_cast<size_t>(i)] = X + example * stack.in_size();
            batch_labels[static_cast<size_t>(i)] = labels[example];
        }
        return parts_for(stack, m, threads);
    }

    int phases(int) const { return 1; }

    int64_t forward_backward(int /*phase*/, int p, int parts, int64_t m) {
        const Range rows = part_range(m, parts, p, kExampleAlign);
        const int64_t bad =
            kernels.first_nonfinite_row(ws.rows[0].data() + rows.begin, rows.end - rows.begin, stack.in_size());
        if (bad >= 0) return rows.begin + bad;
        const DropoutDraw dropout{dropout_key, state.step};
        ws.forward(kernels, params, rows.begin, rows.end, &dropout);
        ws.backward(kernels, params, rows.begin, rows.end, batch_labels.data());
        return -1;
    }

    void before_update(int64_t, int) {}

    void update(int p, int parts, int64_t m, const UpdateStep<T>& step) {
        for (size_t l = 0; l < ws.layers.size(); ++l) {
            const Range units = part_range(ws.layers[l]->units(), parts, p, kUnitAlign);
            ws.layers[l]->update(kernels, params, ws.delta[l].data(), m, units.begin, units.end, step, state.velocity,
                                 state.l1_applied, ws.change[l].data());
        }
    }

    double after_update(int64_t) {
        double abs_change = 0;
        for (const std::vector<double>& change : ws.change)
            for (double c : change) abs_change += c;
        return abs_change;
    }
};

}  // namespace

template <class T>
ChunkResult train_stack_minibatches(const LayerStack& stack, T* params, const T* X, const int64_t* labels, int64_t n,
                                    const int64_t* order, int64_t mini_batch_size, int64_t batch_begin,
                                    int64_t batch_end, const UpdateRule& rule, uint64_t dropout_key,
                                    TrainState<T>& state) {
    const int threads = num_threads();
    StackSteps<T> steps{stack,
                        active_kernels().table<T>(),
                        params,
                        X,
                        labels,
                        order,
                        dropout_key,
                        state,
                        threads,
                        cached_workspace<T>(stack, mini_batch_size),
                        std::vector<int64_t>(static_cast<size_t>(mini_batch_size))};
    return train_loop<T>(steps, n, mini_batch_size, batch_begin, batch_end, rule, state,
                         static_cast<double>(stack.num_weights()), threads);
}

template <class T>
void stack_backprop(const LayerStack& stack, const T* params, const T* X, const int64_t* labels, int64_t m, T* grad,
                    const std::vector<T*>& layer_outputs) {
    const KernelTable<T>& kernels = active_kernels().table<T>();
    StackWorkspace<T> ws = make_workspace<T>(stack, m);
    for (int64_t i = 0; i < m; ++i) ws.rows[0][static_cast<size_t>(i)] = X + i * stack.in_size();
    ws.forward(kernels, params, 0, m, nullptr);
    ws.backward(kernels, params, 0, m, labels);
    for (size_t l = 0; l < stack.num_layers(); ++l) {
        ws.layers[l]->gradient(kernels, ws.delta[l].data(), m, grad);
        if (l < layer_outputs.size() && layer_outputs[l])
            std::copy(ws.out[l].begin(), ws.out[l].end(), layer_outputs[l]);
    }
}

namespace {

// Forward passes of k rows in blocks of kEvalBlock on the threads (forward_in_blocks), each part with
// its own layers. visit(block, first, m, probs) sees each block's outputs on the part's thread. With
// check_inputs, a block holding a NaN or an infinity is not visited and the first such row is
// returned; -1 otherwise.
template <class T, class Visit>
int64_t forward_blocks(const LayerStack& stack, const T* params, const T* X, int64_t k, bool check_inputs,
                       Visit visit) {
    const KernelTable<T>& kernels = active_kernels().table<T>();
    const int64_t n_in = stack.in_size();
    return forward_in_blocks(
        k, kEvalBlock, parts_for(stack, k, num_threads()),
        [&] { return make_workspace<T>(stack, std::min<int64_t>(kEvalBlock, std::max<int64_t>(k, 1))); },
        [&](StackWorkspace<T>& ws, int64_t first, int64_t m) -> int64_t {
            for (int64_t i = 0; i < m; ++i) ws.rows[0][static_cast<size_t>(i)] = X + (first + i) * n_in;
            const int64_t bad = check_inputs ? kernels.first_nonfinite_row(ws.rows[0].data(), m, n_in) : -1;
            if (bad >= 0) return first + bad;
            ws.forward(kernels, params, 0, m, nullptr);
            return -1;
        },
        [&](StackWorkspace<T>& ws, int64_t block, int64_t first, int64_t m) {
            visit(block, first, m, static_cast<const T*>(ws.out.back().data()));
        });
}

}  // namespace

template <class T>
void stack_feedforward(const LayerStack& stack, const T* params, const T* X, int64_t k, T* out) {
    const int64_t classes = stack.classes();
    forward_blocks<T>(stack, params, X, k, false, [&](int64_t, int64_t first, int64_t m, const T* probs) {
        std::copy(probs, probs + m * classes, out + first * classes);
    });
}

template <class T>
Evaluation stack_evaluate(const LayerStack& stack, const T* params, const T* X, const int64_t* labels, int64_t n) {
    const int64_t classes = stack.classes();
    const int64_t blocks = (n + kEvalBlock - 1) / kEvalBlock;
    // Per-block sums, added up in block order afterwards: the total does not depend on threads.
    std::vector<double> block_cost(static_cast<size_t>(blocks), 0.0);
    std::vector<int64_t> block_correct(static_cast<size_t>(blocks), 0);
    Evaluation result;
    result.nonfinite_row =
        forward_blocks<T>(stack, params, X, n, true, [&](int64_t block, int64_t first, int64_t m, const T* probs) {
            double cost = 0;
            int64_t correct = 0;
            for (int64_t i = 0; i < m; ++i) {
                const T* a = probs + i * classes;
                const int64_t label = labels[first + i];
                cost += log_likelihood_cost(a, label);
                if (std::max_element(a, a + classes) - a == label) ++correct;  // np.argmax: the first maximum
            }
            block_cost[static_cast<size_t>(block)] = cost;
            block_correct[static_cast<size_t>(block)] = correct;
        });
    for (int64_t b = 0; b < blocks; ++b) {
        result.cost_sum += block_cost[static_cast<size_t>(b)];
        result.correct += block_correct[static_cast<size_t>(b)];
    }
    return result;
}

#define NNDL_INSTANTIATE_STACK(T)                                                                                 \
    template std::vector<std::unique_ptr<Layer<T>>> make_layers<T>(const LayerStack&);                            \
    template ChunkResult train_stack_minibatches<T>(const LayerStack&, T*, const T*, const int64_t*, int64_t,     \
                                                    const int64_t*, int64_t, int64_t, int64_t, const UpdateRule&, \
                                                    uint64_t, TrainState<T>&);                                    \
    template void stack_backprop<T>(const LayerStack&, const T*, const T*, const int64_t*, int64_t, T*,           \
                                    const std::vector<T*>&);                                                      \
    template void stack_feedforward<T>(const LayerStack&, const T*, const T*, int64_t, T*);                       \
    template Evaluation stack_evaluate<T>(const LayerStack&, const T*, const T*, const int64_t*, int64_t);

NNDL_INSTANTIATE_STACK(float)
NNDL_INSTANTIATE_STACK(double)

}  // namespace nndl
