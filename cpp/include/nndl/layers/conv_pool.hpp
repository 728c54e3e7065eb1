// network3's ConvPoolLayer: a valid convolution (convolution.hpp), then max-pooling
// (max_pool.hpp), then a bias per filter and the activation, in the book's order. No dropout, as
// in network3. Parameters: the filters (F, channels, filter_h, filter_w) row-major, then F biases.
//
// With cols (patch_size, positions) the im2col matrix of an example and E (F, positions) the error
// of its convolution's output (each pooled error routed to its window's maximum):
//   forward         out (F, positions) = W (F, patch_size) x cols       the kernels' dense_backward loop
//   filter gradient G (F, patch_size) += E x cols^T, example by example the kernels' dense_forward loop
//   bias gradient   gb[f] = sum of E's row f = sum of the pooled errors (the bias comes after pooling)
// and the update is update_rule.hpp's, weight by weight, as the scalar kernels apply it: the
// filters are few (500 or 20,000 numbers) next to the products above.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "nndl/layers/activation.hpp"
#include "nndl/layers/convolution.hpp"
#include "nndl/layers/layer.hpp"
#include "nndl/layers/max_pool.hpp"
#include "nndl/update_rule.hpp"

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
          ones_(static_cast<size_t>(conv.filters * conv.positions()), T(1)),
          zero_bias_(static_cast<size_t>(conv.patch_size()), T(0)),
          filter_gradient_(static_cast<size_t>(conv.filters * conv.patch_size())),
          example_gradient_(static_cast<size_t>(conv.filters * conv.patch_size())),
          bias_gradient_(static_cast<size_t>(conv.filters)) {}

    int64_t in_size() const override { return conv_.in_size(); }
    int64_t out_size() const override { return pool_.out_size(); }
    double macs() const override { return static_cast<double>(conv_.positions() * conv_.patch_size() * conv_.filters); }
    int64_t units() const override { return conv_.filters; }

    void reserve(int64_t m) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters;
        cols_.resize(static_cast<size_t>(m * K * P));
        conv_out_.resize(static_cast<size_t>(m * F * P));
        conv_error_.resize(static_cast<size_t>(m * F * P));
        error_rows_.resize(static_cast<size_t>(m * F));
        for (int64_t r = 0; r < m * F; ++r) error_rows_[static_cast<size_t>(r)] = conv_error_.data() + r * P;
        argmax_.resize(static_cast<size_t>(m * out_size()));
    }

    void forward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, int64_t i0, int64_t i1,
                 T* out, const DropoutDraw*) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters, S = out_size();
        const T* b = params + bias_offset_;
        const int64_t per_map = pool_.out_rows() * pool_.out_cols();
        for (int64_t i = i0; i < i1; ++i) {
            T* cols = cols_.data() + i * K * P;
            T* z = conv_out_.data() + i * F * P;
            im2col(conv_, in_rows[i], cols);
            // z[f][p] = 1 * sum_k W[f][k] cols[k][p]: the error-propagation loop of a dense layer
            // with the filters as its errors and the columns as its weights.
            kernels.dense_backward(params + weight_offset_, F, K, cols, P, ones_.data(), z);
            T* o = out + i * S;
            max_pool_forward(pool_, z, o, argmax_.data() + i * S);
            for (int64_t f = 0; f < F; ++f)
                for (int64_t t = 0; t < per_map; ++t) o[f * per_map + t] += b[f];
        }
        apply_layer_activation(kernels, activation_, out + i0 * S, (i1 - i0) * S);
    }

    void backward(const KernelTable<T>&, const T* params, const T* delta, int64_t i0, int64_t i1, T* grad_in) override {
        const int64_t P = conv_.positions(), F = conv_.filters, S = out_size(), N = conv_.in_size();
        for (int64_t i = i0; i < i1; ++i) {
            T* e = conv_error_.data() + i * F * P;
            for (int64_t t = 0; t < F * P; ++t) e[t] = T(0);
            max_pool_backward(pool_, delta + i * S, argmax_.data() + i * S, e);
            if (!grad_in) continue;
            T* gi = grad_in + i * N;
            for (int64_t t = 0; t < N; ++t) gi[t] = T(0);
            convolution_input_gradient(conv_, e, params + weight_offset_, gi);
        }
    }

    void update(const KernelTable<T>& kernels, T* params, const T*, int64_t m, int64_t u0, int64_t u1,
                const UpdateStep<T>& step, T* velocity, T* l1_applied, double* unit_change) override {
        const int64_t K = conv_.patch_size();
        T* gb = bias_gradient_.data();
        summed_gradient(kernels, m, u0, u1, filter_gradient_.data(), gb);
        T* W = params + weight_offset_;
        T* b = params + bias_offset_;
        for (int64_t f = u0; f < u1; ++f) {
            T abs_change = 0;
            for (int64_t k = f * K; k < (f + 1) * K; ++k) {
                const T old = W[k];
                W[k] = regularized_weight_update(old, filter_gradient_[static_cast<size_t>(k)], step,
                                                 velocity ? velocity + weight_offset_ + k : nullptr,
                                                 l1_applied ? l1_applied + weight_offset_ + k : nullptr);
                abs_change += std::fabs(W[k] - old);
            }
            b[f] = bias_update(b[f], gb[f], step, velocity ? velocity + bias_offset_ + f : nullptr);
            unit_change[f] = static_cast<double>(abs_change) + static_cast<double>(b[f] - b[f]);
        }
    }

    void gradient(const KernelTable<T>& kernels, const T*, int64_t m, T* grad) override {
        summed_gradient(kernels, m, 0, conv_.filters, grad + weight_offset_, grad + bias_offset_);
    }

  private:
    // Filters [u0, u1): G[f][k] = sum over examples, in order, of sum_p E_i[f][p] cols_i[k][p];
    // gb[f] = sum over examples of sum_p E_i[f][p]. Each number is computed the same way whatever
    // range of filters a thread takes.
    void summed_gradient(const KernelTable<T>& kernels, int64_t m, int64_t u0, int64_t u1, T* G, T* gb) {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters;
        for (int64_t t = u0 * K; t < u1 * K; ++t) G[t] = T(0);
        for (int64_t f = u0; f < u1; ++f) gb[f] = T(0);
        T* tmp = example_gradient_.data() + u0 * K;
        for (int64_t i = 0; i < m; ++i) {
            kernels.dense_forward(error_rows_.data() + i * F + u0, u1 - u0, P, cols_.data() + i * K * P,
                                  zero_bias_.data(), K, tmp);
            for (int64_t t = 0; t < (u1 - u0) * K; ++t) G[u0 * K + t] += tmp[t];
            for (int64_t f = u0; f < u1; ++f) {
                const T* e = conv_error_.data() + (i * F + f) * P;
                T total = 0;
                for (int64_t p = 0; p < P; ++p) total += e[p];
                gb[f] += total;
            }
        }
    }

    ConvGeometry conv_;
    PoolGeometry pool_;
    LayerActivation activation_;
    size_t weight_offset_, bias_offset_;
    std::vector<T> ones_;               // (F, positions) ones: the convolution has no derivative factor
    std::vector<T> zero_bias_;          // the gradient products add no bias
    std::vector<T> filter_gradient_;    // (F, patch_size), summed over the mini-batch
    std::vector<T> example_gradient_;   // (F, patch_size), one example's
    std::vector<T> bias_gradient_;      // (F)
    std::vector<T> cols_;               // (m, patch_size, positions)
    std::vector<T> conv_out_;           // (m, F, positions): the convolution before pooling
    std::vector<T> conv_error_;         // (m, F, positions): the pooled errors routed back
    std::vector<const T*> error_rows_;  // one pointer per (example, filter) row of conv_error_
    std::vector<int64_t> argmax_;       // (m, out_size): where each pooled maximum came from
};

}  // namespace nndl
