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
// fields, rows of im2row's matrix (padded to whole vectors), are gathered per filter, and the
// kernels' gathered_rows_sum adds them up, example after example, into the filter's gradient
// (KV vectors of it in registers while the rows pass). The bias gradient is the sum of the pooled
// errors. The error sent down to the image is, per position p, the sum of e times the filter over
// the pooled outputs whose maximum is at p: the contributions are grouped by position (filters in
// order) and summed by the same kernel, then each used position's row is added back into the image
// (row2im_add). The summed gradient then goes through update_rule.hpp weight by weight, as the
// scalar kernels apply it (the filters are few: 500 or 20,000 numbers, next to the products above).
#pragma once

#include <algorithm>
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
          patch_stride_((conv.patch_size() + kPatchAlign - 1) / kPatchAlign * kPatchAlign),
          ones_(static_cast<size_t>(conv.filters * conv.positions()), T(1)),
          filter_gradient_(static_cast<size_t>(conv.filters * patch_stride_)),
          bias_gradient_(static_cast<size_t>(conv.filters)) {}

    int64_t in_size() const override { return conv_.in_size(); }
    int64_t out_size() const override { return pool_.out_size(); }
    double macs() const override { return static_cast<double>(conv_.positions() * conv_.patch_size() * conv_.filters); }
    int64_t units() const override { return conv_.filters; }

    void reserve(int64_t m) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters;
        capacity_ = m;
        cols_.resize(static_cast<size_t>(m * K * P));
        patch_rows_.resize(static_cast<size_t>(m * P * patch_stride_));
        conv_out_.resize(static_cast<size_t>(m * F * P));
        argmax_.resize(static_cast<size_t>(m * out_size()));
        gathered_rows_.resize(static_cast<size_t>(m * out_size()));
        gathered_errors_.resize(static_cast<size_t>(m * out_size()));
        patch_errors_.resize(static_cast<size_t>(m * P * K));
        position_count_.resize(static_cast<size_t>(m * P));
        position_used_.resize(static_cast<size_t>(m * P));
        position_errors_.resize(static_cast<size_t>(m * P * F));
        position_filters_.resize(static_cast<size_t>(m * P * F));
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
            im2row(conv_, in_rows[i], patch_stride_, patch_rows_.data() + i * P * patch_stride_);  // for the gradient
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

    void backward(const KernelTable<T>& kernels, const T* params, const T* delta, int64_t i0, int64_t i1,
                  T* grad_in) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters, S = out_size();
        const int64_t per_map = pool_.out_rows() * pool_.out_cols(), N = conv_.in_size();
        const int64_t stride = capacity_ * per_map;  // filter f's gathered rows start at f * stride
        const T* W = params + weight_offset_;
        // This range's own scratch, at the start of its share (one example at a time, as in forward).
        T* dp = patch_errors_.data() + i0 * P * K;
        int64_t* count = position_count_.data() + i0 * P;
        unsigned char* used = position_used_.data() + i0 * P;
        T* errors = position_errors_.data() + i0 * P * F;
        const T** filters = position_filters_.data() + i0 * P * F;
        for (int64_t i = i0; i < i1; ++i) {
            T* gi = grad_in ? grad_in + i * N : nullptr;
            for (int64_t p = 0; p < P; ++p) count[p] = 0;
            for (int64_t f = 0; f < F; ++f)
                for (int64_t o = 0; o < per_map; ++o) {
                    const int64_t out_index = i * S + f * per_map + o;
                    const int64_t p = argmax_[static_cast<size_t>(out_index)] - f * P;  // the maximum's position
                    const T e = delta[out_index];
                    const size_t g = static_cast<size_t>(f * stride + i * per_map + o);
                    gathered_rows_[g] = patch_rows_.data() + (i * P + p) * patch_stride_;
                    gathered_errors_[g] = e;
                    if (!gi || e == T(0)) continue;
                    // Position p's error receives e times filter f (filters in order).
                    errors[p * F + count[p]] = e;
                    filters[p * F + count[p]] = W + f * K;
                    ++count[p];
                }
            if (!gi) continue;
            for (int64_t p = 0; p < P; ++p) {
                used[p] = count[p] > 0;
                if (used[p]) kernels.gathered_rows_sum(errors + p * F, filters + p * F, count[p], K, false, dp + p * K);
            }
            for (int64_t t = 0; t < N; ++t) gi[t] = T(0);
            row2im_add(conv_, dp, used, gi);
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
                const T g = filter_gradient_[static_cast<size_t>(f * patch_stride_ + k - f * K)];
                W[k] = regularized_weight_update(old, g, step, velocity ? velocity + weight_offset_ + k : nullptr,
                                                 l1_applied ? l1_applied + weight_offset_ + k : nullptr);
                abs_change += std::fabs(W[k] - old);
            }
            b[f] = bias_update(b[f], bias_gradient_[static_cast<size_t>(f)], step,
                               velocity ? velocity + bias_offset_ + f : nullptr);
            unit_change[f] = static_cast<double>(abs_change) + static_cast<double>(b[f] - b[f]);
        }
    }

    void gradient(const KernelTable<T>& kernels, const T*, int64_t m, T* grad) override {
        const int64_t K = conv_.patch_size();
        summed_gradient(kernels, m, 0, conv_.filters, filter_gradient_.data(), grad + bias_offset_);
        for (int64_t f = 0; f < conv_.filters; ++f)
            std::copy_n(filter_gradient_.data() + f * patch_stride_, K, grad + weight_offset_ + f * K);
    }

  private:
    // Elements per row of the patch matrix and of the filter gradient: the patch size rounded up to
    // whole vectors of the widest set (16 floats), so that gathered_rows_sum needs no scalar tail.
    // The padding is zeros and is never read back into a weight; it changes no sum.
    static constexpr int64_t kPatchAlign = 16;

    // Filters [u0, u1): G[f] (stride patch_stride_) = the sum over examples i in order, and within an
    // example over its pooled maxima in order, of the pooled error times the receptive field at the
    // maximum; gb[f] the sum of the errors in the same order. Example-major, so an example's receptive
    // fields stay in cache while every filter reads them; each number is computed the same way
    // whatever range of filters a thread takes.
    void summed_gradient(const KernelTable<T>& kernels, int64_t m, int64_t u0, int64_t u1, T* G, T* gb) {
        const int64_t per_map = pool_.out_rows() * pool_.out_cols();
        const int64_t stride = capacity_ * per_map;
        for (int64_t f = u0; f < u1; ++f) gb[f] = T(0);
        for (int64_t i = 0; i < m; ++i)
            for (int64_t f = u0; f < u1; ++f) {
                const size_t g = static_cast<size_t>(f * stride + i * per_map);
                const T* e = gathered_errors_.data() + g;
                kernels.gathered_rows_sum(e, gathered_rows_.data() + g, per_map, patch_stride_, i > 0,
                                          G + f * patch_stride_);
                T sum = gb[f];
                for (int64_t o = 0; o < per_map; ++o) sum += e[o];
                gb[f] = sum;
            }
    }

    ConvGeometry conv_;
    PoolGeometry pool_;
    LayerActivation activation_;
    size_t weight_offset_, bias_offset_;
    int64_t patch_stride_;                 // patch_size rounded up to kPatchAlign
    int64_t capacity_ = 0;                 // the mini-batch size reserved for
    std::vector<T> ones_;                  // (F, positions) ones: the convolution has no derivative factor
    std::vector<T> filter_gradient_;       // (F, patch_stride): summed over the mini-batch
    std::vector<T> bias_gradient_;         // (F)
    std::vector<T> cols_;                  // (patch_size, positions) per range of examples: im2col scratch
    std::vector<T> patch_rows_;            // (m, positions, patch_stride): im2row of each example
    std::vector<T> conv_out_;              // (F, positions) per range: the convolution before pooling
    std::vector<int64_t> argmax_;          // (m, out_size): where each pooled maximum came from, in conv_out_
    std::vector<const T*> gathered_rows_;  // (F, m * pooled): the receptive field of each pooled maximum
    std::vector<T> gathered_errors_;       // (F, m * pooled): the pooled errors, in the same order
    std::vector<T> patch_errors_;          // (positions, patch_size) per range: the receptive fields' errors
    // Per range of examples, one example at a time: the pooled errors grouped by the position of their
    // maximum, each with its filter's row of W (positions x filters), how many each position has, and
    // whether it has any.
    std::vector<int64_t> position_count_;
    std::vector<unsigned char> position_used_;
    std::vector<T> position_errors_;
    std::vector<const T*> position_filters_;
};

}  // namespace nndl
