// The shape of a network and where each layer's parameters live in its one flat buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "nndl/layers/activation.hpp"

namespace nndl {

// network2's activations are the layers' (linear is network3's only: the bindings do not offer it here).
using Activation = LayerActivation;
enum class Cost { quadratic, cross_entropy, log_likelihood };

// Layer l (1-based, as the book counts) maps sizes[l-1] inputs to sizes[l] outputs.
// Its weights (sizes[l] x sizes[l-1], row-major, the book's w[j][k]) are followed by its
// biases (sizes[l]); layers follow each other in the flat parameter buffer.
struct Architecture {
    std::vector<int64_t> sizes;
    std::vector<Activation> activations;  // one per layer after the input; softmax only last
    Cost cost = Cost::cross_entropy;

    Architecture(std::vector<int64_t> layer_sizes, std::vector<Activation> layer_activations, Cost cost_)
        : sizes(std::move(layer_sizes)), activations(std::move(layer_activations)), cost(cost_) {
        if (sizes.size() < 2) throw std::invalid_argument("sizes: a network needs at least two layers");
        for (int64_t s : sizes)
            if (s < 1)
                throw std::invalid_argument("sizes: every layer needs at least one neuron, got " + std::to_string(s));
        if (activations.size() != sizes.size() - 1)
            throw std::invalid_argument("activation: need one activation per layer after the input");
        for (size_t l = 0; l + 1 < activations.size(); ++l)
            if (activations[l] == Activation::softmax)
                throw std::invalid_argument("activation: softmax is only allowed on the output layer");
        const Activation out = activations.back();
        if (cost == Cost::log_likelihood && out != Activation::softmax)
            throw std::invalid_argument("cost: the log-likelihood cost needs a softmax output layer");
        if (cost != Cost::log_likelihood && out == Activation::softmax)
            throw std::invalid_argument("cost: a softmax output layer goes with the log-likelihood cost");
        if (cost == Cost::cross_entropy && out != Activation::sigmoid)
            throw std::invalid_argument("cost: the cross-entropy cost needs a sigmoid output layer");
        offsets_.push_back(0);
        for (size_t l = 1; l < sizes.size(); ++l)
            offsets_.push_back(offsets_.back() + static_cast<size_t>(sizes[l] * sizes[l - 1] + sizes[l]));
    }

    size_t num_layers() const { return sizes.size(); }
    size_t num_params() const { return offsets_.back(); }
    size_t num_weights() const {
        size_t total = 0;
        for (size_t l = 1; l < sizes.size(); ++l) total += static_cast<size_t>(sizes[l] * sizes[l - 1]);
        return total;
    }
    int64_t n_in() const { return sizes.front(); }
    int64_t n_out() const { return sizes.back(); }
    int64_t widest() const {
        int64_t w = 0;
        for (int64_t s : sizes) w = s > w ? s : w;
        return w;
    }
    // Offsets of layer l's weights and biases, l = 1 .. num_layers()-1.
    size_t weight_offset(size_t l) const { return offsets_[l - 1]; }
    size_t bias_offset(size_t l) const { return offsets_[l - 1] + static_cast<size_t>(sizes[l] * sizes[l - 1]); }

  private:
    std::vector<size_t> offsets_;
};

}  // namespace nndl
