// A fully connected layer, network3's FullyConnectedLayer and (with the softmax activation) its
// SoftmaxLayer: z = x W^T + b, then the activation. Weights are stored (n_out, n_in) as the
// engine's dense kernels want them (the Python front shows the book's (n_in, n_out) as a
// transposed view), followed by the n_out biases.
//
// Dropout acts on the layer's inputs, as in network3: input k of example i is kept with
// probability 1-p. nndl's dropout is inverted: a kept input is scaled by 1/(1-p) while training
// and nothing is scaled when evaluating, where network3 scales W by (1-p) when evaluating; the
// expected pre-activation is the same, and the weights learned are those of network3 divided by (1-p).
#pragma once

#include <cstdint>
#include <vector>

#include "nndl/cache_line_vector.hpp"
#include "nndl/dropout_rng.hpp"
#include "nndl/layers/activation.hpp"
#include "nndl/layers/layer.hpp"
#include "nndl/layers/softmax.hpp"

namespace nndl {

template <class T>
class DenseLayer final : public Layer<T> {
  public:
    DenseLayer(int64_t n_in, int64_t n_out, LayerActivation activation, double p_dropout, uint64_t layer_index,
               size_t weight_offset, size_t bias_offset)
        : n_in_(n_in),
          n_out_(n_out),
          activation_(activation),
          p_dropout_(p_dropout),
          layer_index_(layer_index),
          weight_offset_(weight_offset),
          bias_offset_(bias_offset) {}

    int64_t in_size() const override { return n_in_; }
    int64_t out_size() const override { return n_out_; }
    double macs() const override { return static_cast<double>(n_in_ * n_out_); }
    int64_t units() const override { return n_out_; }

    void reserve(int64_t m) override {
        rows_.resize(static_cast<size_t>(m));
        input_factor_.resize(static_cast<size_t>(m * n_in_));
        if (p_dropout_ > 0) dropped_inputs_.resize(static_cast<size_t>(m * n_in_));
    }

    void forward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, int64_t i0, int64_t i1,
                 T* out, const DropoutDraw* dropout) override {
        const bool drop = dropout && p_dropout_ > 0;
        const T keep_scale = static_cast<T>(1.0 / (1.0 - p_dropout_));
        const uint64_t threshold = dropout_threshold(p_dropout_);
        for (int64_t i = i0; i < i1; ++i) {
            T* factor = input_factor_.data() + i * n_in_;
            if (!drop) {
                rows_[static_cast<size_t>(i)] = in_rows[i];
                for (int64_t k = 0; k < n_in_; ++k) factor[k] = T(1);
                continue;
            }
            // The mask depends on the example's place in the mini-batch, never on the thread split.
            T* x = dropped_inputs_.data() + i * n_in_;
            const uint64_t stream = dropout_stream(dropout->key, dropout->step, static_cast<uint64_t>(i), layer_index_);
            for (int64_t k = 0; k < n_in_; ++k) {
                const bool kept = dropout_kept(stream, static_cast<uint64_t>(k), threshold);
                factor[k] = kept ? keep_scale : T(0);
                x[k] = in_rows[i][k] * factor[k];
            }
            rows_[static_cast<size_t>(i)] = x;
        }
        T* z = out + i0 * n_out_;
        kernels.dense_forward(rows_.data() + i0, i1 - i0, n_in_, params + weight_offset_, params + bias_offset_, n_out_,
                              z);
        if (activation_ == LayerActivation::softmax)
            softmax_rows(z, i1 - i0, n_out_);
        else
            apply_layer_activation(kernels, activation_, z, (i1 - i0) * n_out_);
    }

    void backward(const KernelTable<T>& kernels, const T* params, const T* const*, const T* delta, int64_t i0,
                  int64_t i1, T* grad_in) override {
        if (!grad_in) return;
        // dL/dx = (delta W) times each input's dropout factor (1 without dropout).
        kernels.dense_backward(delta + i0 * n_out_, i1 - i0, n_out_, params + weight_offset_, n_in_,
                               input_factor_.data() + i0 * n_in_, grad_in + i0 * n_in_);
    }

    void update(const KernelTable<T>& kernels, T* params, const T* delta, int64_t m, int64_t u0, int64_t u1,
                const UpdateStep<T>& step, T* velocity, T* l1_applied, double* unit_change) override {
        kernels.fused_update(delta, rows_.data(), m, n_out_, u0, u1, n_in_, params + weight_offset_,
                             params + bias_offset_, step, velocity ? velocity + weight_offset_ : nullptr,
                             velocity ? velocity + bias_offset_ : nullptr,
                             l1_applied ? l1_applied + weight_offset_ : nullptr, unit_change);
    }

    void gradient(const KernelTable<T>& kernels, const T* delta, int64_t m, T* grad) override {
        kernels.dense_weight_gradient(delta, rows_.data(), m, n_out_, n_in_, grad + weight_offset_,
                                      grad + bias_offset_);
    }

  private:
    int64_t n_in_, n_out_;
    LayerActivation activation_;
    double p_dropout_;
    uint64_t layer_index_;
    size_t weight_offset_, bias_offset_;
    std::vector<const T*> rows_;         // the inputs the forward pass used (after dropout), per example
    CacheLineVector<T> input_factor_;    // (m, n_in): 0 or 1/(1-p) with dropout, else 1
    CacheLineVector<T> dropped_inputs_;  // (m, n_in): inputs times their factor, with dropout
};

}  // namespace nndl
