// The dense-layer kernels as a table of function pointers, one table per instruction set, and the
// run-time choice between them. Each SIMD table lives in its own translation unit compiled with
// its own -m flags (cpp/src/kernels_<isa>.cpp); only the chosen one ever runs, so a wheel built
// here runs on any CPU of its architecture. The kernel TUs use nothing inline from this header
// (only the struct layouts), so no function here is compiled once per instruction set and then
// merged by the linker into the wrong path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nndl/kept_nonzeros.hpp"
#include "nndl/update_rule.hpp"

namespace nndl {

// Rows of the sparse first layer's weights per entry of sparse_update's change record: a sum per
// block rather than per row (a horizontal sum per row cost a third of the update), with blocks
// fixed so that the record does not depend on how rows are split between threads.
constexpr int64_t kSparseChangeBlock = 16;

// A mini-batch's nonzero inputs for the sparse forward product (pointers at its first example).
// Example i's are in the slots gather_nonzeros fills (index and value from i * n_in), unless kept and
// kept[i].counts are set: then they are in its record in the input cache, group g from entry
// kept_first[i * (sparse_lanes + 1) + g] of it, the values decoded[code]. Either way group g holds
// count[i * (sparse_lanes + 1) + g] entries.
template <class T>
struct SparseInputRows {
    const int32_t* index = nullptr;
    const T* value = nullptr;
    const int64_t* count = nullptr;
    const KeptNonzeros* kept = nullptr;
    const int64_t* kept_first = nullptr;
    const T* decoded = nullptr;
};

// A mini-batch's nonzeros by row of the sparse first layer's Wt, for sparse_update, in one of two
// forms (sparse_inputs.hpp chooses):
// - runs (codes null): row k's count[k] entries from k * stride, the examples in order in example[],
//   their values in value[] (a counting sort's output);
// - codes: byte i of row k's kCodedRowBytes at codes[k * kCodedRowBytes] is example i's pixel code
//   (0: no entry; the value is decoded[code]). Only for mini-batches of at most kCodedRowBytes examples
//   whose nonzeros all come from the input cache: placing an entry is then one byte store, where a run
//   takes three stores and a counter's increment. `examples` is the mini-batch's size; delta_pad has
//   at least kCodedRowBytes rows, those from `examples` on finite (kernels_simd.inl: CodedEntries).
// Either way a row's entries are added in example order: the same bits.
constexpr int64_t kCodedRowBytes = 16;
template <class T>
struct SparseRowEntries {
    const int64_t* count = nullptr;
    int64_t stride = 0;
    const int32_t* example = nullptr;
    const T* value = nullptr;
    const uint8_t* codes = nullptr;
    const T* decoded = nullptr;
    int64_t examples = 0;
};

template <class T>
struct KernelTable {
    // Z[i][j] = b[j] + sum_k in[i][k] W[j][k]                      Z is (m, n_out)
    void (*dense_forward)(const T* const* in_rows, int64_t m, int64_t n_in, const T* W, const T* b, int64_t n_out,
                          T* Z);
    // The same Z for a layer whose inputs are another layer's outputs: each output summed over k in
    // order (vectorized along the outputs when n_in is small), not in dense_forward's lane order,
    // which the sparse first layer reproduces and this need not.
    void (*hidden_forward)(const T* const* in_rows, int64_t m, int64_t n_in, const T* W, const T* b, int64_t n_out,
                           T* Z);
    // delta_in[i][k] = d_in[i][k] sum_j delta[i][j] W[j][k]         the error one layer down
    void (*dense_backward)(const T* delta, int64_t m, int64_t n_out, const T* W, int64_t n_in, const T* d_in,
                           T* delta_in);
    // G[j][k] = sum_i delta[i][j] in[i][k]; gb[j] = sum_i delta[i][j]
    void (*dense_weight_gradient)(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in, T* G,
                                  T* gb);
    // out[k] = (accumulate ? out[k] : 0) + sum over r in [0, count), in order, of coef[r] rows[r][k], for
    // k in [0, n): a sum of scaled rows gathered by pointer (the convolution's filter gradient over its
    // pooled maxima, and its receptive fields' errors). Each out[k] is one chain of multiply-adds in r order.
    void (*gathered_rows_sum)(const T* coef, const T* const* rows, int64_t count, int64_t n, bool accumulate, T* out);
    // Rows [j_begin, j_end) of W and b: sum each row's gradient over the mini-batch and apply the
    // regularized update in the same pass. row_change[j] receives sum_k |w_new - w_old| of row j
    // plus (b_new - b_new), so it is non-finite exactly when some new parameter of row j is.
    // Rows are independent, so any split of [0, n_out) between threads gives the same bits.
    // The rule's branches (momentum, L1 method) are resolved once per call into a specialized loop.
    void (*fused_update)(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j_begin,
                         int64_t j_end, int64_t n_in, T* W, T* b, const UpdateStep<T>& step, T* velocity_w,
                         T* velocity_b, T* l1_applied_w, double* row_change);
    // z <- 1 / (1 + exp(-z)) elementwise
    void (*sigmoid)(T* z, int64_t count);
    // The first i in [0, m) whose row rows[i][0 .. width) holds a NaN or an infinity, or -1.
    int64_t (*first_nonfinite_row)(const T* const* rows, int64_t m, int64_t width);

    // ---- the sparse first layer (sparse_inputs.hpp): weights input-major, Wt[k][j], ld per row ----
    // Nonzeros of a row are kept in sparse_lanes + 1 groups (k mod sparse_lanes over whole vectors,
    // then the tail), the order in which the dense forward tile sums them; ld is a multiple of it.
    int sparse_lanes;
    // Rows [0, m) (n_in each): the nonzeros of row i into index/value[i*n_in ...], group g from
    // offset g*(n_in/sparse_lanes) (the tail from n_in/sparse_lanes*sparse_lanes), with
    // count[i*(sparse_lanes+1) + g] entries. index holds each nonzero's row of Wt: input k's row is k,
    // or with half_rows > 0 (sparse_inputs.hpp's parity halves) k / 2 + (k mod 2) * half_rows.
    // Returns the first row holding a NaN or an infinity, or -1.
    int64_t (*gather_nonzeros)(const T* const* rows, int64_t m, int64_t n_in, int64_t half_rows, int32_t* index,
                               T* value, int64_t* count);
    // Z[i][j] = b[j] + sum over example i's nonzeros (k, x) of x Wt[k][j]: dense_forward's bits.
    void (*sparse_forward)(const SparseInputRows<T>& rows, int64_t m, int64_t n_in, const T* Wt, int64_t ld, const T* b,
                           int64_t n_out, T* Z);
    // Rows [k_begin, k_end) of Wt (k_begin a multiple of kSparseChangeBlock), and with second > 0 the
    // rows [k_begin, k_end) + second too (Wt in parity halves: the same inputs' other half, taken in
    // turns with the first): gradient from the nonzeros by row (entries) and the deltas (m, ld,
    // zero-padded), then the regularized
    // update; change[b] = sum |dw| over rows [b, b + 1) * kSparseChangeBlock, in row order. Without
    // every_row, and when step.bounded_without_gradient(), the rows without entries are left out of
    // change (their weights cannot turn non-finite): for a caller that asks only whether the sum is finite.
    void (*sparse_update)(const SparseRowEntries<T>& entries, const T* delta_pad, int64_t k_begin, int64_t k_end,
                          int64_t second, int64_t ld, T* Wt, const UpdateStep<T>& step, T* velocity_wt,
                          T* l1_applied_wt, double* change, bool every_row);
    // Biases [j_begin, j_end): the dense fused update's bias step on delta's m rows of stride ld (>= j_end);
    // bias_change[j] = b_new - b_new.
    void (*bias_update)(const T* delta, int64_t m, int64_t ld, int64_t j_begin, int64_t j_end, T* b,
                        const UpdateStep<T>& step, T* velocity_b, double* bias_change);
    // Half `half` (0: the even inputs, 1: the odd) of sparse_forward's sums, as the last addition of its
    // reduction tree takes them: sums[i * ld + j] for j < ld, no tail (n_in a multiple of sparse_lanes),
    // no bias, Wt in parity halves. sparse_forward's Z is then (sums0 + sums1) + b, bit for bit. Null in
    // the sets of fewer than 4 lanes, whose halves would not be pairs of groups.
    void (*sparse_forward_half)(const SparseInputRows<T>& rows, int64_t m, int64_t n_in, const T* Wt, int64_t ld,
                                int half, T* sums);
};

struct KernelSet {
    const char* name;  // "scalar", "baseline", "avx2", "avx512"
    KernelTable<float> f32;
    KernelTable<double> f64;
    // Achieved GFLOP/s of a loop of independent fused multiply-adds (mul+add where the set has no
    // FMA) running for about `seconds` on this thread: the practical peak the benchmark compares to.
    double (*fma_peak_gflops)(int bytes_per_value, double seconds);

    template <class T>
    const KernelTable<T>& table() const;
};

template <>
inline const KernelTable<float>& KernelSet::table<float>() const {
    return f32;
}
template <>
inline const KernelTable<double>& KernelSet::table<double>() const {
    return f64;
}

// The kernels in use (chosen once at load time: NNDL_SIMD if set and available, else the best).
const KernelSet& active_kernels();
// Use the named set; false (and no change) when it is not compiled in or the CPU lacks it.
bool set_active_kernels(const std::string& name);
// Names compiled into this build, lowest first; those this CPU can run, lowest first.
std::vector<std::string> compiled_kernel_sets();
std::vector<std::string> available_kernel_sets();
// A set by name among the available ones, or null.
const KernelSet* find_kernel_set(const std::string& name);

}  // namespace nndl
