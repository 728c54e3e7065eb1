// network3's ConvPoolLayer: a valid convolution (convolution.hpp), then max-pooling
// (max_pool.hpp), then a bias per filter and the activation, in the book's order. No dropout, as
// in network3. Parameters: the filters (F, channels, filter_h, filter_w) row-major, then F biases.
//
// Forward: out (F, positions) = W (F, patch_size) x cols (patch_size, positions), cols the im2col
// matrix of an example, through the dense kernels' error-propagation loop (its inner loop runs
// along the positions, hundreds long, not along a 5x5 patch).
//
// Backward: max-pooling sends each pooled error to one position, so filter f's gradient is a sum
// over the pooled outputs only (a quarter of the positions for 2x2 pools): sum over examples i and
// pooled outputs o of delta[i][f][o] times the receptive field at o's maximum. Those receptive
// fields, rows of im2row's matrix, are gathered per filter, and filter f's gradient over one
// example is the dense kernels' weight gradient of one neuron over those rows. The bias gradient
// is the sum of the pooled errors, which that pass adds up too. The summed gradient then goes
// through update_rule.hpp weight by weight, as the scalar kernels apply it (the filters are few:
// 500 or 20,000 numbers, next to the products above).
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
          filter_gradient_(static_cast<size_t>(conv.filters * conv.patch_size())),
          example_gradient_(static_cast<size_t>(conv.filters * conv.patch_size())),
          bias_gradient_(static_cast<size_t>(conv.filters)) {}

    int64_t in_size() const override { return conv_.in_size(); }
    int64_t out_size() const override { return pool_.out_size(); }
    double macs() const override { return static_cast<double>(conv_.positions() * conv_.patch_size() * conv_.filters); }
    int64_t units() const override { return conv_.filters; }

    void reserve(int64_t m) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters;
        capacity_ = m;
        cols_.resize(static_cast<size_t>(m * K * P));
        patch_rows_.resize(static_cast<size_t>(m * P * K));
        conv_out_.resize(static_cast<size_t>(m * F * P));
        argmax_.resize(static_cast<size_t>(m * out_size()));
        gathered_rows_.resize(static_cast<size_t>(m * out_size()));
        gathered_errors_.resize(static_cast<size_t>(m * out_size()));
        patch_errors_.resize(static_cast<size_t>(m * P * K));
    }

    void forward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, int64_t i0, int64_t i1,
                 T* out, const DropoutDraw*) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters, S = out_size();
        const T* b = params + bias_offset_;
        const int64_t per_map = pool_.out_rows() * pool_.out_cols();
        for (int64_t i = i0; i < i1; ++i) {
            // Scratch of one example at a time, at the start of this range's share: the range stays in cache.
            T* cols = cols_.data() + i0 * K * P;
            T* z = conv_out_.data() + i0 * F * P;
            im2col(conv_, in_rows[i], cols);
            im2row(conv_, in_rows[i], patch_rows_.data() + i * P * K);  // for the filters' gradient
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
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters, S = out_size();
        const int64_t per_map = pool_.out_rows() * pool_.out_cols(), N = conv_.in_size();
        const int64_t stride = capacity_ * per_map;  // filter f's gathered rows start at f * stride
        const T* W = params + weight_offset_;
        for (int64_t i = i0; i < i1; ++i) {
            T* gi = grad_in ? grad_in + i * N : nullptr;
            T* dp = patch_errors_.data() + i0 * P * K;  // one example at a time, as in forward
            if (gi)
                for (int64_t t = 0; t < P * K; ++t) dp[t] = T(0);
            for (int64_t f = 0; f < F; ++f)
                for (int64_t o = 0; o < per_map; ++o) {
                    const int64_t out_index = i * S + f * per_map + o;
                    const int64_t p = argmax_[static_cast<size_t>(out_index)] - f * P;  // the maximum's position
                    const T e = delta[out_index];
                    const size_t g = static_cast<size_t>(f * stride + i * per_map + o);
                    gathered_rows_[g] = patch_rows_.data() + (i * P + p) * K;
                    gathered_errors_[g] = e;
                    if (!gi || e == T(0)) continue;
                    // The receptive field at p gets e times the filter (a quarter of the positions
                    // receive anything after 2x2 pooling, so this beats a dense product).
                    T* row = dp + p * K;
                    const T* w = W + f * K;
#pragma omp simd
                    for (int64_t k = 0; k < K; ++k) row[k] += e * w[k];
                }
            if (gi) {
                for (int64_t t = 0; t < N; ++t) gi[t] = T(0);
                row2im_add(conv_, dp, gi);
            }
        }
    }

    void update(const KernelTable<T>& kernels, T* params, const T*, int64_t m, int64_t u0, int64_t u1,
                const UpdateStep<T>& step, T* velocity, T* l1_applied, double* unit_change) override {
        const int64_t K = conv_.patch_size();
        summed_gradient(kernels, m, u0, u1, filter_gradient_.data(), bias_gradient_.data());
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
            b[f] = bias_update(b[f], bias_gradient_[static_cast<size_t>(f)], step,
                               velocity ? velocity + bias_offset_ + f : nullptr);
            unit_change[f] = static_cast<double>(abs_change) + static_cast<double>(b[f] - b[f]);
        }
    }

    void gradient(const KernelTable<T>& kernels, const T*, int64_t m, T* grad) override {
        summed_gradient(kernels, m, 0, conv_.filters, grad + weight_offset_, grad + bias_offset_);
    }

  private:
    // Filters [u0, u1): G[f] = sum over examples i, in order, of the kernels' weight gradient of
    // filter f's gathered rows of example i (its pooled maxima); gb[f] likewise. Example-major, so
    // an example's receptive fields stay in cache while every filter reads them; each number is
    // computed the same way whatever range of filters a thread takes.
    void summed_gradient(const KernelTable<T>& kernels, int64_t m, int64_t u0, int64_t u1, T* G, T* gb) {
        const int64_t K = conv_.patch_size(), per_map = pool_.out_rows() * pool_.out_cols();
        const int64_t stride = capacity_ * per_map;
        for (int64_t t = u0 * K; t < u1 * K; ++t) G[t] = T(0);
        for (int64_t f = u0; f < u1; ++f) gb[f] = T(0);
        T* tmp = example_gradient_.data() + u0 * K;  // this range's own scratch
        for (int64_t i = 0; i < m; ++i) {
            for (int64_t f = u0; f < u1; ++f) {
                const size_t g = static_cast<size_t>(f * stride + i * per_map);
                T tmp_b;
                kernels.dense_weight_gradient(gathered_errors_.data() + g, gathered_rows_.data() + g, per_map, 1, K,
                                              tmp, &tmp_b);
                T* gf = G + f * K;
#pragma omp simd
                for (int64_t k = 0; k < K; ++k) gf[k] += tmp[k];
                gb[f] += tmp_b;
            }
        }
    }

    ConvGeometry conv_;
    PoolGeometry pool_;
    LayerActivation activation_;
    size_t weight_offset_, bias_offset_;
    int64_t capacity_ = 0;                 // the mini-batch size reserved for
    std::vector<T> ones_;                  // (F, positions) ones: the convolution has no derivative factor
    std::vector<T> filter_gradient_;       // (F, patch_size): summed over the mini-batch
    std::vector<T> example_gradient_;      // (F, patch_size): one example's, scratch
    std::vector<T> bias_gradient_;         // (F)
    std::vector<T> cols_;                  // (patch_size, positions) per range of examples: im2col scratch
    std::vector<T> patch_rows_;            // (m, positions, patch_size): im2row of each example
    std::vector<T> conv_out_;              // (F, positions) per range: the convolution before pooling
    std::vector<int64_t> argmax_;          // (m, out_size): where each pooled maximum came from, in conv_out_
    std::vector<const T*> gathered_rows_;  // (F, m * pooled): the receptive field of each pooled maximum
    std::vector<T> gathered_errors_;       // (F, m * pooled): the pooled errors, in the same order
    std::vector<T> patch_errors_;          // (positions, patch_size) per range: the receptive fields' errors
};

}  // namespace nndl
