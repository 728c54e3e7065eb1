// The dense-layer loops of matrix-form backprop, written plainly: the scalar fallback, and the
// oracle the SIMD kernels (kernels_simd.inl) are tested against. Inputs of a layer are given as row pointers so
// that the first layer reads a mini-batch straight out of the training set in shuffled order,
// without copying it. Inner loops run along contiguous rows, so the compiler vectorizes them
// (`#pragma omp simd`, enabled by -fopenmp-simd).
#pragma once

#include <cmath>
#include <cstdint>

#include "nndl/architecture.hpp"
#include "nndl/kernel_table.hpp"
#include "nndl/update_rule.hpp"

namespace nndl {

// Z[i][j] = b[j] + sum_k in[i][k] * W[j][k]          (m, n_out) = (m, n_in) x (n_out, n_in)^T
template <class T>
void dense_forward(const T* const* in_rows, int64_t m, int64_t n_in, const T* W, const T* b, int64_t n_out, T* Z) {
    for (int64_t i = 0; i < m; ++i) {
        const T* x = in_rows[i];
        for (int64_t j = 0; j < n_out; ++j) {
            const T* w = W + j * n_in;
            T acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int64_t k = 0; k < n_in; ++k) acc += x[k] * w[k];
            Z[i * n_out + j] = acc + b[j];
        }
    }
}

// delta_in[i][k] = d_in[i][k] * sum_j delta[i][j] * W[j][k]   (the error one layer down)
template <class T>
void dense_backward(const T* delta, int64_t m, int64_t n_out, const T* W, int64_t n_in, const T* d_in, T* delta_in) {
    for (int64_t i = 0; i < m; ++i) {
        T* out = delta_in + i * n_in;
#pragma omp simd
        for (int64_t k = 0; k < n_in; ++k) out[k] = 0;
        for (int64_t j = 0; j < n_out; ++j) {
            const T dij = delta[i * n_out + j];
            const T* w = W + j * n_in;
#pragma omp simd
            for (int64_t k = 0; k < n_in; ++k) out[k] += dij * w[k];
        }
        const T* d = d_in + i * n_in;
#pragma omp simd
        for (int64_t k = 0; k < n_in; ++k) out[k] *= d[k];
    }
}

// G[j][k] = sum_i delta[i][j] * in[i][k]; gb[j] = sum_i delta[i][j]   (summed over the mini-batch)
template <class T>
void dense_weight_gradient(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in, T* G,
                           T* gb) {
    for (int64_t j = 0; j < n_out; ++j) {
        T* g = G + j * n_in;
#pragma omp simd
        for (int64_t k = 0; k < n_in; ++k) g[k] = 0;
        T bias_sum = 0;
        for (int64_t i = 0; i < m; ++i) {
            const T dij = delta[i * n_out + j];
            const T* x = in_rows[i];
            bias_sum += dij;
#pragma omp simd
            for (int64_t k = 0; k < n_in; ++k) g[k] += dij * x[k];
        }
        gb[j] = bias_sum;
    }
}

// out[k] = (accumulate ? out[k] : 0) + sum_r coef[r] * rows[r][k], r in order   (rows gathered by pointer)
template <class T>
void gathered_rows_sum(const T* coef, const T* const* rows, int64_t count, int64_t n, bool accumulate, T* out) {
    if (!accumulate)
#pragma omp simd
        for (int64_t k = 0; k < n; ++k) out[k] = 0;
    for (int64_t r = 0; r < count; ++r) {
        const T c = coef[r];
        const T* x = rows[r];
#pragma omp simd
        for (int64_t k = 0; k < n; ++k) out[k] += c * x[k];
    }
}

// The first of rows [0, m) (width numbers each) holding a NaN or an infinity, or -1.
template <class T>
int64_t first_nonfinite_row(const T* const* rows, int64_t m, int64_t width) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t k = 0; k < width; ++k)
            if (!std::isfinite(rows[i][k])) return i;
    return -1;
}

// Rows [j_begin, j_end): the gradient of each weight row, summed over the mini-batch into `g_row`
// (n_in scratch), then the regularized update of that row in one more pass while it is still in
// L1 cache. row_change[j] = sum_k |w_new - w_old| + (b_new - b_new): non-finite exactly when a
// new parameter of row j is. This is the scalar fallback and the oracle of the SIMD version.
template <class T>
void fused_regularized_update(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j_begin,
                              int64_t j_end, int64_t n_in, T* W, T* b, const UpdateStep<T>& step, T* velocity_w,
                              T* velocity_b, T* l1_applied_w, T* g_row, double* row_change) {
    for (int64_t j = j_begin; j < j_end; ++j) {
#pragma omp simd
        for (int64_t k = 0; k < n_in; ++k) g_row[k] = 0;
        T bias_sum = 0;
        for (int64_t i = 0; i < m; ++i) {
            const T dij = delta[i * n_out + j];
            const T* x = in_rows[i];
            bias_sum += dij;
#pragma omp simd
            for (int64_t k = 0; k < n_in; ++k) g_row[k] += dij * x[k];
        }
        T* w = W + j * n_in;
        T* vw = velocity_w ? velocity_w + j * n_in : nullptr;
        T* qw = l1_applied_w ? l1_applied_w + j * n_in : nullptr;
        T abs_change = 0;
        for (int64_t k = 0; k < n_in; ++k) {
            const T old = w[k];
            const T now = regularized_weight_update(old, g_row[k], step, vw ? vw + k : nullptr, qw ? qw + k : nullptr);
            w[k] = now;
            abs_change += std::fabs(now - old);
        }
        b[j] = bias_update(b[j], bias_sum, step, velocity_b ? velocity_b + j : nullptr);
        row_change[j] = static_cast<double>(abs_change) + static_cast<double>(b[j] - b[j]);
    }
}

// ---- the sparse first layer, plainly (one group: every nonzero in increasing k) ----

// One lane, so no parity halves (half_rows is 0 here: the row of input k is k).
template <class T>
int64_t gather_nonzeros(const T* const* rows, int64_t m, int64_t n_in, int64_t half_rows, int32_t* index, T* value,
                        int64_t* count) {
    (void)half_rows;
    for (int64_t i = 0; i < m; ++i) {
        int64_t used = 0;
        for (int64_t k = 0; k < n_in; ++k) {
            const T x = rows[i][k];
            if (!std::isfinite(x)) return i;
            if (x != T(0)) {
                index[i * n_in + used] = static_cast<int32_t>(k);
                value[i * n_in + used] = x;
                ++used;
            }
        }
        count[i * 2] = used;
        count[i * 2 + 1] = 0;  // no tail group
    }
    return -1;
}

template <class T>
void sparse_forward(const SparseInputRows<T>& rows, int64_t m, int64_t n_in, const T* Wt, int64_t ld, const T* b,
                    int64_t n_out, T* Z) {
    for (int64_t i = 0; i < m; ++i) {
        const bool kept = rows.kept && rows.kept[i].counts;
        const int64_t first = kept ? rows.kept_first[i * 2] : i * n_in;
        for (int64_t j = 0; j < n_out; ++j) {
            T s = 0;
            for (int64_t e = first; e < first + rows.count[i * 2]; ++e) {
                const int64_t k = kept ? rows.kept[i].inputs[e] : rows.index[e];
                const T x = kept ? rows.decoded[rows.kept[i].codes[e]] : rows.value[e];
                s += x * Wt[k * ld + j];
            }
            Z[i * n_out + j] = s + b[j];
        }
    }
}

// Row k's entries of a mini-batch's nonzeros (SparseRowEntries), f(example, value) for each, in example order.
template <class T, class F>
void for_each_row_entry(const SparseRowEntries<T>& entries, int64_t k, F f) {
    if (entries.codes) {
        const uint8_t* codes = entries.codes + k * kCodedRowBytes;
        for (int64_t i = 0; i < kCodedRowBytes; ++i)
            if (codes[i] != 0) f(i, entries.decoded[codes[i]]);
        return;
    }
    for (int64_t e = k * entries.stride; e < k * entries.stride + entries.count[k]; ++e)
        f(static_cast<int64_t>(entries.example[e]), entries.value[e]);
}

template <class T>
void sparse_update(const SparseRowEntries<T>& entries, const T* delta_pad, int64_t k_begin, int64_t k_end,
                   int64_t second, int64_t ld, T* Wt, const UpdateStep<T>& step, T* velocity_wt, T* l1_applied_wt,
                   double* change, bool every_row) {
    // The second half's rows after the first's: each block's rows are summed in the same order.
    const int64_t offsets[2] = {0, second};
    const bool skip_empty = !every_row && step.bounded_without_gradient();
    for (int half = 0; half < (second > 0 ? 2 : 1); ++half) {
        for (int64_t k = k_begin + offsets[half]; k < k_end + offsets[half]; ++k) {
            if (k % kSparseChangeBlock == 0) change[k / kSparseChangeBlock] = 0;
            bool has_entries = false;
            for_each_row_entry(entries, k, [&](int64_t, T) { has_entries = true; });
            T abs_change = 0;
            for (int64_t j = 0; j < ld; ++j) {
                T g = 0;
                for_each_row_entry(entries, k, [&](int64_t i, T x) { g += x * delta_pad[i * ld + j]; });
                const int64_t at = k * ld + j;
                const T old = Wt[at];
                const T now = regularized_weight_update(old, g, step, velocity_wt ? velocity_wt + at : nullptr,
                                                        l1_applied_wt ? l1_applied_wt + at : nullptr);
                Wt[at] = now;
                abs_change += std::fabs(now - old);
            }
            if (!(skip_empty && !has_entries)) change[k / kSparseChangeBlock] += static_cast<double>(abs_change);
        }
    }
}

template <class T>
void bias_update_rows(const T* delta, int64_t m, int64_t ld, int64_t j_begin, int64_t j_end, T* b,
                      const UpdateStep<T>& step, T* velocity_b, double* bias_change) {
    for (int64_t j = j_begin; j < j_end; ++j) {
        T sum = 0;
        for (int64_t i = 0; i < m; ++i) sum += delta[i * ld + j];
        b[j] = bias_update(b[j], sum, step, velocity_b ? velocity_b + j : nullptr);
        bias_change[j] = static_cast<double>(b[j] - b[j]);
    }
}

}  // namespace nndl
