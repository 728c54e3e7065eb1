// A network as network3 builds it: a list of layers (convolution + max-pool, fully connected,
// softmax last) over one flat parameter buffer, trained with the log-likelihood cost by the
// same mini-batch loop contract as train.hpp: the regularized update of update_rule.hpp through
// the kernels' fused pass, NaN/inf inputs found as they are read, divergence detected.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nndl/layers/activation.hpp"
#include "nndl/layers/layer.hpp"
#include "nndl/train.hpp"

namespace nndl {

enum class LayerKind { conv_pool, fully_connected, softmax };

struct LayerSpec {
    LayerKind kind = LayerKind::fully_connected;
    LayerActivation activation = LayerActivation::sigmoid;
    // conv_pool: the input image (channels, height, width), the filters and the pooling window.
    int64_t channels = 0, height = 0, width = 0, filters = 0, filter_h = 0, filter_w = 0, pool_h = 1, pool_w = 1;
    // fully_connected and softmax.
    int64_t n_in = 0, n_out = 0;
    double p_dropout = 0.0;  // fully_connected and softmax: probability of dropping an input

    int64_t in_size() const;
    int64_t out_size() const;
    int64_t num_weights() const;
    int64_t num_biases() const;
};

class LayerStack {
  public:
    // Checks the shapes (std::invalid_argument naming the argument): every layer's input is the
    // previous layer's output, filters fit their images, softmax is the last layer and only there.
    explicit LayerStack(std::vector<LayerSpec> specs);

    const std::vector<LayerSpec>& specs() const { return specs_; }
    size_t num_layers() const { return specs_.size(); }
    size_t num_params() const { return offsets_.back(); }
    size_t weight_offset(size_t l) const { return offsets_[l]; }
    size_t bias_offset(size_t l) const { return offsets_[l] + static_cast<size_t>(specs_[l].num_weights()); }
    int64_t in_size() const { return specs_.front().in_size(); }
    int64_t classes() const { return specs_.back().n_out; }
    int64_t num_weights() const;

  private:
    std::vector<LayerSpec> specs_;
    std::vector<size_t> offsets_;  // layer l's weights start at offsets_[l]; offsets_.back() = num_params
};

template <class T>
std::vector<std::unique_ptr<Layer<T>>> make_layers(const LayerStack& stack);

// Train mini-batches [batch_begin, batch_end) of one epoch (train.hpp's contract): mini-batch b
// holds examples order[b*m .. (b+1)*m) of X (n, in_size) with integer labels. The dropout key
// draws the masks of layers with p_dropout > 0; state.step counts mini-batches.
template <class T>
ChunkResult train_stack_minibatches(const LayerStack& stack, T* params, const T* X, const int64_t* labels, int64_t n,
                                    const int64_t* order, int64_t mini_batch_size, int64_t batch_begin,
                                    int64_t batch_end, const UpdateRule& rule, uint64_t dropout_key,
                                    TrainState<T>& state);

// Gradient of the log-likelihood cost summed over the m examples of X, into grad (num_params);
// no dropout, no penalty. With layer_outputs (one pointer per layer, each (m, out_size)), also
// each layer's output activations.
template <class T>
void stack_backprop(const LayerStack& stack, const T* params, const T* X, const int64_t* labels, int64_t m, T* grad,
                    const std::vector<T*>& layer_outputs);

// Output probabilities (k, classes) for finite inputs X (k, in_size), no dropout.
template <class T>
void stack_feedforward(const LayerStack& stack, const T* params, const T* X, int64_t k, T* out);

// Summed log-likelihood cost and the count classified correctly; nonfinite_row as in train.hpp.
template <class T>
Evaluation stack_evaluate(const LayerStack& stack, const T* params, const T* X, const int64_t* labels, int64_t n);

}  // namespace nndl
