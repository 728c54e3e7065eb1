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
// pooled outputs o of delta[i][f][o] times the receptive field at o's maximum. Per example, the
// receptive fields are laid out as rows (im2row, padded to whole vectors) in this thread's scratch,
// and the kernels' gathered_rows_sum adds up each filter's gathered rows (KV vectors of the sum in
// registers while the rows pass) while they are in cache. Those sums are kept per block of
// kConvGradientBlock examples (the thread split never cuts a block), and the update adds the blocks
// in order: the same numbers for any thread count. The bias gradient is the sum of the pooled
// errors, in the same order. The error sent down to the image is, per position p, the sum of e
// times the filter over the pooled outputs whose maximum is at p: the contributions are grouped by
// position (filters in order) and summed by the same kernel, then each used position's row is added
// back into the image (row2im_add). The summed gradient then goes through update_rule.hpp weight by
// weight, as the scalar kernels apply it (the filters are few: 500 or 20,000 numbers).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "nndl/cache_line_vector.hpp"
#include "nndl/layers/activation.hpp"
#include "nndl/layers/convolution.hpp"
#include "nndl/layers/layer.hpp"
#include "nndl/layers/max_pool.hpp"
#include "nndl/update_rule.hpp"

namespace nndl {

// Examples per block of the filters' partial gradient sums. The training loop splits a mini-batch
// between threads at multiples of this (layer_stack.cpp checks), so a block is one thread's.
constexpr int64_t kConvGradientBlock = 2;

// What a conv layer needs for one example at a time, per thread: scratch, not state. Kept between
// calls (thread_local), shared by the conv layers of one thread, which run one after another, and
// sized by the largest: per-range slices of mini-batch-sized buffers made a workspace at m = 100
// tens of MB larger, and a fresh workspace's page faults then cost more than a short call's training.
template <class T>
struct ConvScratch {
    CacheLineVector<T> cols;                   // (patch_size, positions): im2col of the example
    CacheLineVector<T> patch_rows;             // (positions, patch_stride): im2row of the example
    std::vector<const T*> gathered_rows;       // (pooled): one filter's receptive fields at its maxima
    std::vector<const T*> block_rows;          // (blocks): one filter's partial sums, block after block
    CacheLineVector<T> ones;                   // (blocks): 1, the coefficients of that sum
    CacheLineVector<T> conv_out;               // (F, positions): the convolution before pooling
    CacheLineVector<T> patch_errors;           // (positions, patch_size): the receptive fields' errors
    std::vector<int64_t> position_count;       // per position: how many pooled errors have their maximum there
    std::vector<unsigned char> position_used;  // per position: whether any has
    CacheLineVector<T> position_errors;        // (positions, F): those errors, filters in order
    std::vector<const T*> position_filters;    // (positions, F): their filters' rows of W
};

template <class T>
ConvScratch<T>& conv_scratch() {
    thread_local ConvScratch<T> scratch;
    return scratch;
}

// v's data, v grown to at least n elements first (never shrunk: the next call needs the same).
template <class Vector>
typename Vector::value_type* grown(Vector& v, int64_t n) {
    if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
    return v.data();
}

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
        const int64_t blocks = (m + kConvGradientBlock - 1) / kConvGradientBlock;
        argmax_.resize(static_cast<size_t>(m * out_size()));
        block_gradient_.resize(static_cast<size_t>(blocks * conv_.filters * patch_stride_));
        block_bias_gradient_.resize(static_cast<size_t>(blocks * conv_.filters));
    }

    void forward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, int64_t i0, int64_t i1,
                 T* out, const DropoutDraw*) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters, S = out_size();
        const T* b = params + bias_offset_;
        const int64_t per_map = pool_.out_rows() * pool_.out_cols();
        ConvScratch<T>& scratch = conv_scratch<T>();  // this thread's, one example at a time
        T* cols = grown(scratch.cols, K * P);
        T* z = grown(scratch.conv_out, F * P);
        for (int64_t i = i0; i < i1; ++i) {
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

    void backward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, const T* delta, int64_t i0,
                  int64_t i1, T* grad_in) override {
        const int64_t P = conv_.positions(), K = conv_.patch_size(), F = conv_.filters, S = out_size();
        const int64_t per_map = pool_.out_rows() * pool_.out_cols(), N = conv_.in_size(), Kp = patch_stride_;
        const T* W = params + weight_offset_;
        ConvScratch<T>& scratch = conv_scratch<T>();
        T* rows = grown(scratch.patch_rows, P * Kp);
        const T** gathered = grown(scratch.gathered_rows, per_map);
        T* dp = grown(scratch.patch_errors, P * K);
        int64_t* count = grown(scratch.position_count, P);
        unsigned char* used = grown(scratch.position_used, P);
        T* errors = grown(scratch.position_errors, P * F);
        const T** filters = grown(scratch.position_filters, P * F);
        for (int64_t i = i0; i < i1; ++i) {
            T* gi = grad_in ? grad_in + i * N : nullptr;
            im2row(conv_, in_rows[i], Kp, rows);
            const int64_t block = i / kConvGradientBlock;
            const bool first_of_block = i % kConvGradientBlock == 0;
            for (int64_t p = 0; p < P; ++p) count[p] = 0;
            for (int64_t f = 0; f < F; ++f) {
                const T* e = delta + i * S + f * per_map;
                for (int64_t o = 0; o < per_map; ++o) {
                    const int64_t p = argmax_[static_cast<size_t>(i * S + f * per_map + o)] - f * P;  // o's maximum
                    gathered[o] = rows + p * Kp;
                    if (!gi || e[o] == T(0)) continue;
                    // Position p's error receives e times filter f (filters in order).
                    errors[p * F + count[p]] = e[o];
                    filters[p * F + count[p]] = W + f * K;
                    ++count[p];
                }
                // Filter f's gradient over this example, added to its block's sum.
                const size_t at = static_cast<size_t>(block * F + f);
                kernels.gathered_rows_sum(e, gathered, per_map, Kp, !first_of_block,
                                          block_gradient_.data() + at * static_cast<size_t>(Kp));
                T bias_sum = first_of_block ? T(0) : block_bias_gradient_[at];
                for (int64_t o = 0; o < per_map; ++o) bias_sum += e[o];
                block_bias_gradient_[at] = bias_sum;
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

    // Filters [u0, u1): G[f] (stride patch_stride_) = the sum of the filter's block sums in block
    // order, gb[f] likewise; each block sums its examples in order, and each example its pooled
    // maxima in order. The same numbers whatever range of filters or examples a thread took.
    void summed_gradient(const KernelTable<T>& kernels, int64_t m, int64_t u0, int64_t u1, T* G, T* gb) {
        const int64_t blocks = (m + kConvGradientBlock - 1) / kConvGradientBlock, F = conv_.filters;
        ConvScratch<T>& scratch = conv_scratch<T>();
        const T** block_rows = grown(scratch.block_rows, blocks);
        T* ones = grown(scratch.ones, blocks);
        std::fill(ones, ones + blocks, T(1));  // 1 * x + s: an exact add
        for (int64_t f = u0; f < u1; ++f) {
            for (int64_t b = 0; b < blocks; ++b) block_rows[b] = block_gradient_.data() + (b * F + f) * patch_stride_;
            kernels.gathered_rows_sum(ones, block_rows, blocks, patch_stride_, false, G + f * patch_stride_);
            T bias_sum = 0;
            for (int64_t b = 0; b < blocks; ++b) bias_sum += block_bias_gradient_[static_cast<size_t>(b * F + f)];
            gb[f] = bias_sum;
        }
    }

    ConvGeometry conv_;
    PoolGeometry pool_;
    LayerActivation activation_;
    size_t weight_offset_, bias_offset_;
    int64_t patch_stride_;                    // patch_size rounded up to kPatchAlign
    CacheLineVector<T> ones_;                 // (F, positions) ones: the convolution has no derivative factor
    CacheLineVector<T> filter_gradient_;      // (F, patch_stride): summed over the mini-batch
    CacheLineVector<T> bias_gradient_;        // (F)
    std::vector<int64_t> argmax_;             // (m, out_size): where each pooled maximum came from, in (F, positions)
    CacheLineVector<T> block_gradient_;       // (blocks, F, patch_stride): each block's sum of the filters' gradients
    CacheLineVector<T> block_bias_gradient_;  // (blocks, F): likewise for the biases
};

}  // namespace nndl
