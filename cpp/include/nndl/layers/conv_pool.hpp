// network3's ConvPoolLayer: a valid convolution (convolution.hpp), then max-pooling
// (max_pool.hpp), then a bias per filter and the activation, in the book's order. The bias is
// added after pooling, as the book does; the bias's gradient is the sum of the pooled errors,
// which equals the sum of the routed errors the fused update adds up. No dropout, as in network3.
// Parameters: the filters (F, channels, filter_h, filter_w) row-major, then the F biases.
#pragma once

#include <cstdint>
#include <vector>

#include "nndl/layers/activation.hpp"
#include "nndl/layers/convolution.hpp"
#include "nndl/layers/layer.hpp"
#include "nndl/layers/max_pool.hpp"

namespace nndl {

template <class T>
class ConvPoolLayer final : public Layer<T> {
  public:
    ConvPoolLayer(const ConvGeometry& conv, int64_t pool_h, int64_t pool_w, LayerActivation activation,
                  size_t weight_offset, size_t bias_offset)
        : conv_(conv),
          pool_{conv.out_rows(), conv.out_cols(), conv.filters, pool_h, pool_w},
          activation_(activation),
          weight_offset_(weight_offset),
          bias_offset_(bias_offset),
          zero_bias_(static_cast<size_t>(conv.filters), T(0)) {}

    int64_t in_size() const override { return conv_.in_size(); }
    int64_t out_size() const override { return pool_.out_size(); }
    double macs() const override { return static_cast<double>(conv_.positions() * conv_.patch_size() * conv_.filters); }
    int64_t units() const override { return conv_.filters; }

    void reserve(int64_t m) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size();
        patches_.resize(static_cast<size_t>(m * P * K));
        patch_rows_.resize(static_cast<size_t>(m * P));
        for (int64_t r = 0; r < m * P; ++r) patch_rows_[static_cast<size_t>(r)] = patches_.data() + r * K;
        conv_out_.resize(static_cast<size_t>(m * P * conv_.filters));
        conv_error_.resize(static_cast<size_t>(m * P * conv_.filters));
        argmax_.resize(static_cast<size_t>(m * out_size()));
    }

    void forward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, int64_t i0, int64_t i1,
                 T* out, const DropoutDraw*) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters, S = out_size();
        for (int64_t i = i0; i < i1; ++i) im2col(conv_, in_rows[i], patches_.data() + i * P * K);
        kernels.dense_forward(patch_rows_.data() + i0 * P, (i1 - i0) * P, K, params + weight_offset_, zero_bias_.data(),
                              F, conv_out_.data() + i0 * P * F);
        const T* b = params + bias_offset_;
        const int64_t per_map = pool_.out_rows() * pool_.out_cols();
        for (int64_t i = i0; i < i1; ++i) {
            T* o = out + i * S;
            max_pool_forward(pool_, conv_out_.data() + i * P * F, o, argmax_.data() + i * S);
            for (int64_t f = 0; f < F; ++f)
                for (int64_t t = 0; t < per_map; ++t) o[f * per_map + t] += b[f];
        }
        apply_layer_activation(kernels, activation_, out + i0 * S, (i1 - i0) * S);
    }

    void backward(const KernelTable<T>&, const T* params, const T* delta, int64_t i0, int64_t i1, T* grad_in) override {
        const int64_t P = conv_.positions(), F = conv_.filters, S = out_size(), N = conv_.in_size();
        for (int64_t i = i0; i < i1; ++i) {
            T* e = conv_error_.data() + i * P * F;
            for (int64_t t = 0; t < P * F; ++t) e[t] = T(0);
            max_pool_backward(pool_, delta + i * S, argmax_.data() + i * S, e);
            if (!grad_in) continue;
            T* gi = grad_in + i * N;
            for (int64_t t = 0; t < N; ++t) gi[t] = T(0);
            convolution_input_gradient(conv_, e, params + weight_offset_, gi);
        }
    }

    void update(const KernelTable<T>& kernels, T* params, const T*, int64_t m, int64_t u0, int64_t u1,
                const UpdateStep<T>& step, T* velocity, T* l1_applied, double* unit_change) override {
        // Every output position of every example is one "example" of the filters' dense layer.
        kernels.fused_update(conv_error_.data(), patch_rows_.data(), m * conv_.positions(), conv_.filters, u0, u1,
                             conv_.patch_size(), params + weight_offset_, params + bias_offset_, step,
                             velocity ? velocity + weight_offset_ : nullptr,
                             velocity ? velocity + bias_offset_ : nullptr,
                             l1_applied ? l1_applied + weight_offset_ : nullptr, unit_change);
    }

    void gradient(const KernelTable<T>& kernels, const T*, int64_t m, T* grad) override {
        kernels.dense_weight_gradient(conv_error_.data(), patch_rows_.data(), m * conv_.positions(), conv_.filters,
                                      conv_.patch_size(), grad + weight_offset_, grad + bias_offset_);
    }

  private:
    ConvGeometry conv_;
    PoolGeometry pool_;
    LayerActivation activation_;
    size_t weight_offset_, bias_offset_;
    std::vector<T> zero_bias_;          // the convolution adds no bias: it comes after pooling
    std::vector<T> patches_;            // (m * positions, patch_size)
    std::vector<const T*> patch_rows_;  // one pointer per patch row
    std::vector<T> conv_out_;           // (m * positions, F): the convolution before pooling
    std::vector<T> conv_error_;         // (m * positions, F): the pooled errors routed back
    std::vector<int64_t> argmax_;       // (m, out_size): where each pooled maximum came from
};

}  // namespace nndl
