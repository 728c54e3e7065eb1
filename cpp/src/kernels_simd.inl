// The SIMD kernels, written once over GCC/Clang vector extensions and compiled once per instruction
// set: kernels_<isa>.cpp defines
//   NNDL_KERNEL_NS      the namespace of this copy (baseline, avx2, avx512; avx512_on_avx2, a test set)
//   NNDL_KERNEL_NAME    its name as users see it
//   NNDL_VECTOR_BYTES   16, 32 or 64
//   NNDL_VECTOR_REGS    16 or 32 (sizes the register tiles)
//   NNDL_KERNEL_SET     the exported KernelSet object
// and includes this file, its TU compiled with that set's -m flags.
//
// Why every function below is in an anonymous namespace: an inline or template function compiled
// in two TUs with different -m flags has one mangled name, and the linker keeps whichever copy it
// meets first, so the baseline path could end up running AVX-512 code. Internal linkage (plus the
// per-set namespace) makes every copy private to its TU. For the same reason nothing here calls
// inline library templates (std::min, std::vector, <chrono>): only intrinsic-free vector code,
// builtins and plain C functions.
//
// Register tiles: a dot-product tile keeps JB x IB vector accumulators (rows of W x examples) and
// a gradient tile JR x KV (rows of W x vectors along the inputs), sized to fill the register file
// without spilling; each output is computed by the same sequence of operations whatever tile or
// thread it falls in, so results do not depend on how rows are split between threads.
#include <cstdint>
#include <cstring>
#include <ctime>
#include <type_traits>  // std::integral_constant (a type only)
#include <utility>      // std::integer_sequence (a type only: no library code is compiled here)

#if defined(__AVX512F__) && NNDL_VECTOR_BYTES == 64
#include <immintrin.h>  // the sparse gather's vcompress (gather_tile), masked loads and stores (load_part)
#elif defined(__FMA__)
#include <immintrin.h>  // the update's fused multiply-adds (minus_product); AVX2's gather permutes (gather_tile)
#elif defined(__SSE2__)
#include <emmintrin.h>  // the coded rows' byte compare (nonzero_bytes)
#endif

#include "nndl/kernel_table.hpp"

#if !defined(NNDL_KERNEL_NS) || !defined(NNDL_VECTOR_BYTES) || !defined(NNDL_VECTOR_REGS) || \
    !defined(NNDL_KERNEL_SET) || !defined(NNDL_KERNEL_NAME)
#error "kernels_simd.inl is included by cpp/src/kernels_<isa>.cpp, which define the instruction set"
#endif

#if defined(__clang__)
#define NNDL_UNROLL _Pragma("unroll")
#else
#define NNDL_UNROLL _Pragma("GCC unroll 32")
#endif
#define NNDL_INLINE inline __attribute__((always_inline))
// Pins a value to a vector register: stops the compiler from folding a load into each of several
// FMAs (one load per use instead of one per row), which makes the forward tile load-bound.
#if NNDL_VECTOR_BYTES == 64 && !defined(__AVX512F__)
#define NNDL_IN_REGISTER(v) ((void)0)  // the avx512-on-avx2 test set: a 64-byte vector fits no AVX2 register
#elif defined(__x86_64__) || defined(__i386__)
#define NNDL_IN_REGISTER(v) asm("" : "+v"(v))  // "v": any vector register, zmm16-31 included
#elif defined(__aarch64__)
#define NNDL_IN_REGISTER(v) asm("" : "+w"(v))
#else
#define NNDL_IN_REGISTER(v) ((void)0)
#endif
// The same for a scalar in a loop whose iterations must stay one multiply-add each: without it GCC
// vectorizes a short tail loop into one vector multiply and a chain of separate additions, rounding
// differently from the fused multiply-add the sparse path (and a shorter tail) gets.
#if defined(__x86_64__) || defined(__i386__)
#define NNDL_SCALAR_STEP(s) asm("" : "+x"(s))
#elif defined(__aarch64__)
#define NNDL_SCALAR_STEP(s) asm("" : "+w"(s))
#else
#define NNDL_SCALAR_STEP(s) ((void)0)
#endif

namespace nndl {
namespace NNDL_KERNEL_NS {
namespace {

constexpr int kBytes = NNDL_VECTOR_BYTES;
constexpr int kRegs = NNDL_VECTOR_REGS;

typedef double vd __attribute__((vector_size(kBytes)));
typedef float vf __attribute__((vector_size(kBytes)));
typedef int64_t vl __attribute__((vector_size(kBytes)));
typedef int32_t vi __attribute__((vector_size(kBytes)));

template <class T>
struct Simd;
template <>
struct Simd<double> {
    using vec = vd;
    using ivec = vl;
    using bits = uint64_t;
    static constexpr int lanes = kBytes / 8;
};
template <>
struct Simd<float> {
    using vec = vf;
    using ivec = vi;
    using bits = uint32_t;
    static constexpr int lanes = kBytes / 4;
};

// ---- the few vector operations the kernels use, overloaded for a scalar too (for row tails) ----

template <class T>
NNDL_INLINE typename Simd<T>::vec load(const T* p) {
    typename Simd<T>::vec v;
    std::memcpy(&v, p, sizeof v);  // an unaligned load; rows need not be aligned
    return v;
}
template <class T>
NNDL_INLINE void store(T* p, typename Simd<T>::vec v) {
    std::memcpy(p, &v, sizeof v);
}
// A scalar-vector operation broadcasts the scalar: one vbroadcast. (Filling the lanes one by one
// made GCC assemble wide vectors from 16-byte pieces on the stack inside the hot loops, and each
// wide reload then stalled on store forwarding.) s - 0 is s exactly, -0 included, so the
// compiler drops the subtraction; s + 0 would turn -0 into +0 and cost an add.
template <class T>
NNDL_INLINE typename Simd<T>::vec splat(T s) {
    return s - typename Simd<T>::vec{};
}
// Whether load_part and store_part below are masked loads and stores (AVX-512), or copy loops.
#if defined(__AVX512F__) && NNDL_VECTOR_BYTES == 64
constexpr bool kMaskedParts = true;
#else
constexpr bool kMaskedParts = false;
#endif

// A part of a vector: lanes [0, count) from p, the rest 0 (count < lanes).
template <class T>
NNDL_INLINE typename Simd<T>::vec load_part(const T* p, int count) {
#if defined(__AVX512F__) && NNDL_VECTOR_BYTES == 64
    // Masked: the copy loop below becomes a call to memmove for a variable count (2% of the book's
    // float64 epoch, in the tails of its 30-input layer's update).
    if constexpr (sizeof(T) == 8)
        return (typename Simd<T>::vec)_mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << count) - 1), p);
    else
        return (typename Simd<T>::vec)_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), p);
#else
    T lane[Simd<T>::lanes] = {};
    for (int t = 0; t < count; ++t) lane[t] = p[t];
    return load(lane);
#endif
}
template <class T>
NNDL_INLINE void store_part(T* p, typename Simd<T>::vec v, int count) {
#if defined(__AVX512F__) && NNDL_VECTOR_BYTES == 64
    if constexpr (sizeof(T) == 8)
        _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << count) - 1), (__m512d)v);
    else
        _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1), (__m512)v);
#else
    T lane[Simd<T>::lanes];
    store(lane, v);
    for (int t = 0; t < count; ++t) p[t] = lane[t];
#endif
}

// Pairwise halving, the same order on every call, so a sum does not depend on the caller: lane l
// of the lower half plus lane l of the upper half, down to one lane. Each halving is one add of two
// half-width vectors (the halves extracted in registers), the same additions, in the same order,
// as the scalar loop over lanes it replaced, which went through memory and cost a third of the
// forward tile's instructions.
template <class T, int N>
struct Lanes {
    typedef T type __attribute__((vector_size(N * sizeof(T))));
};
// Lanes [Off, Off + N/2) of an N-lane vector, as a vector (a register extract, not a trip through
// memory: a memcpy of the halves made GCC keep every accumulator of the forward tile on the stack).
template <class T, int N, int Off, int... I>
NNDL_INLINE typename Lanes<T, N / 2>::type half_of(typename Lanes<T, N>::type v, std::integer_sequence<int, I...>) {
    return __builtin_shufflevector(v, v, (Off + I)...);
}
template <class T, int N>
NNDL_INLINE T pairwise_sum(typename Lanes<T, N>::type v) {
    if constexpr (N == 1) {
        return v[0];
    } else {
        const auto lanes = std::make_integer_sequence<int, N / 2>{};
        return pairwise_sum<T, N / 2>(half_of<T, N, 0>(v, lanes) + half_of<T, N, N / 2>(v, lanes));
    }
}
NNDL_INLINE double reduce_add(vd v) { return pairwise_sum<double, Simd<double>::lanes>(v); }
NNDL_INLINE float reduce_add(vf v) { return pairwise_sum<float, Simd<float>::lanes>(v); }

// Masks: all-ones lanes (vectors) or bool (scalars). select(mask, a, b) = mask ? a : b per lane.
NNDL_INLINE vd select(vl mask, vd a, vd b) { return (vd)((mask & (vl)a) | (~mask & (vl)b)); }
NNDL_INLINE vf select(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }
NNDL_INLINE double select(bool mask, double a, double b) { return mask ? a : b; }
NNDL_INLINE float select(bool mask, float a, float b) { return mask ? a : b; }
template <class V>
NNDL_INLINE V zero_like(V) {
    return V{};
}
NNDL_INLINE vd abs_of(vd v) { return (vd)((vl)v & ~(vl)splat<double>(-0.0)); }  // clear the sign bits
NNDL_INLINE vf abs_of(vf v) { return (vf)((vi)v & ~(vi)splat<float>(-0.0f)); }
NNDL_INLINE double abs_of(double v) { return __builtin_fabs(v); }
NNDL_INLINE float abs_of(float v) { return __builtin_fabsf(v); }

// ---- forward: Z = in W^T + b, tiles of JB rows of W by IB examples ----

template <class T, int JB, int IB>
void forward_tile(const T* const* in_rows, int64_t i0, int64_t n_in, const T* W, const T* b, int64_t n_out, int64_t j0,
                  T* Z) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    const T* w[JB];
    const T* x[IB];
    NNDL_UNROLL
    for (int r = 0; r < JB; ++r) w[r] = W + (j0 + r) * n_in;
    NNDL_UNROLL
    for (int c = 0; c < IB; ++c) x[c] = in_rows[i0 + c];
    vec acc[JB][IB];
    NNDL_UNROLL
    for (int r = 0; r < JB; ++r) {
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) acc[r][c] = vec{};
    }
    int64_t k = 0;
    for (; k + L <= n_in; k += L) {
        vec xv[IB];
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) xv[c] = load(x[c] + k);
        NNDL_UNROLL
        for (int r = 0; r < JB; ++r) {
            vec wv = load(w[r] + k);
            NNDL_IN_REGISTER(wv);
            NNDL_UNROLL
            for (int c = 0; c < IB; ++c) acc[r][c] += wv * xv[c];  // contracted to an FMA
        }
    }
    NNDL_UNROLL
    for (int r = 0; r < JB; ++r) {
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) {
            T s = reduce_add(acc[r][c]);
            for (int64_t t = k; t < n_in; ++t) {
                s += w[r][t] * x[c][t];
                NNDL_SCALAR_STEP(s);
            }
            Z[(i0 + c) * n_out + j0 + r] = s + b[j0 + r];
        }
    }
}

// The (jr, ir) tile with jr <= JB, ir <= IB, chosen at run time for the edges of the matrix.
template <class T, int JB, int IB>
NNDL_INLINE void forward_tile_any(int jr, int ir, const T* const* in_rows, int64_t i0, int64_t n_in, const T* W,
                                  const T* b, int64_t n_out, int64_t j0, T* Z) {
    if (jr == JB) {
        if (ir == IB) return forward_tile<T, JB, IB>(in_rows, i0, n_in, W, b, n_out, j0, Z);
        if constexpr (IB > 1) return forward_tile_any<T, JB, IB - 1>(jr, ir, in_rows, i0, n_in, W, b, n_out, j0, Z);
    }
    if constexpr (JB > 1) forward_tile_any<T, JB - 1, IB>(jr, ir, in_rows, i0, n_in, W, b, n_out, j0, Z);
}

// Rows of W by examples per tile: 6 x 4 with 32 vector registers (24 accumulators), 5 x 2 with 16;
// both divide the book's 30 hidden units. On AVX-512 6 x 4 measured 3-7% faster than 5 x 5 per
// C++ epoch (784-100-10 m=100 float32, 784-500-10 m=100 float64); the tile shape changes no sum.
constexpr int kForwardRows = kRegs >= 32 ? 6 : 5;
constexpr int kForwardExamples = kRegs >= 32 ? 4 : 2;

// Bytes of a layer's input rows kept in L2 at a time (half of a typical 512 KB L2, leaving room
// for the weights).
constexpr int64_t kL2Budget = 192 * 1024;

template <class T>
void dense_forward(const T* const* in_rows, int64_t m, int64_t n_in, const T* W, const T* b, int64_t n_out, T* Z) {
    // Blocks of examples small enough to stay in L2; within a block, W's row tile stays in L1
    // while every example of the block passes it. Blocking does not change any sum.
    int64_t block = kL2Budget / (n_in * static_cast<int64_t>(sizeof(T)));
    block = block < kForwardExamples ? kForwardExamples : block / kForwardExamples * kForwardExamples;
    for (int64_t ib = 0; ib < m; ib += block) {
        const int64_t ie = m - ib < block ? m : ib + block;
        for (int64_t j0 = 0; j0 < n_out; j0 += kForwardRows) {
            const int jr = static_cast<int>(n_out - j0 < kForwardRows ? n_out - j0 : kForwardRows);
            for (int64_t i0 = ib; i0 < ie; i0 += kForwardExamples) {
                const int ir = static_cast<int>(ie - i0 < kForwardExamples ? ie - i0 : kForwardExamples);
                forward_tile_any<T, kForwardRows, kForwardExamples>(jr, ir, in_rows, i0, n_in, W, b, n_out, j0, Z);
            }
        }
    }
}

// ---- forward of a hidden layer: Z = in W^T + b along the outputs, for few inputs ----
//
// With few inputs a dot product per output is mostly its horizontal sum and its scalar tail (a
// 30-input layer: 1 vector FMA, 15 scalar adds and 14 scalar FMAs per output in float32 on AVX-512).
// Here each output's sum runs in a lane instead: W's rows for a chunk of outputs are transposed
// into input-major vectors once per call, and out[i][j..] += in[i][k] * Wt[k][j..] for k in order.
// Each output is then summed over k in order (then + b), the order of the scalar kernels; it is
// not dense_forward's lane order, so this serves only layers whose inputs are another layer's
// outputs (the first layer must keep dense_forward's bits, which the sparse path reproduces).

constexpr int64_t kSmallInputs = 128;  // at most this many inputs: the transposed chunk fits in L1
constexpr int kSmallVectors = 2;       // output vectors per tile
constexpr int kSmallExamples = kRegs >= 32 ? 8 : 4;

// JV output vectors (wt holds JV * L outputs per input), IB examples.
template <class T, int IB, int JV>
NNDL_INLINE void small_forward_tile(const T* const* in_rows, int64_t i0, int64_t n_in, const T* wt, const T* b,
                                    int64_t n_out, int64_t j0, int width, T* Z) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    vec acc[IB][JV];
    NNDL_UNROLL
    for (int c = 0; c < IB; ++c) {
        NNDL_UNROLL
        for (int v = 0; v < JV; ++v) acc[c][v] = vec{};
    }
    const T* x[IB];
    NNDL_UNROLL
    for (int c = 0; c < IB; ++c) x[c] = in_rows[i0 + c];
    for (int64_t k = 0; k < n_in; ++k) {
        vec w[JV];
        NNDL_UNROLL
        for (int v = 0; v < JV; ++v) w[v] = load(wt + k * JV * L + v * L);
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) {
            const vec s = splat(x[c][k]);
            NNDL_UNROLL
            for (int v = 0; v < JV; ++v) acc[c][v] += s * w[v];
        }
    }
    NNDL_UNROLL
    for (int v = 0; v < JV; ++v) {
        const int lanes = width - v * L < L ? width - v * L : L;
        if (lanes <= 0) break;
        const vec bias = load_part(b + j0 + v * L, lanes);
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) {
            T* out = Z + (i0 + c) * n_out + j0 + v * L;
            if (lanes == L)
                store(out, acc[c][v] + bias);
            else
                store_part(out, acc[c][v] + bias, lanes);
        }
    }
}

// Outputs [j0, j0 + width) as JV vectors: W's rows transposed into wt (JV * L outputs per input,
// the padding zeroed; a compile-time row length, so the copy unrolls), then the tiles.
template <class T, int JV>
void small_forward_chunk(const T* const* in_rows, int64_t m, int64_t n_in, const T* W, T* wt, const T* b, int64_t n_out,
                         int64_t j0, int width, T* Z) {
    constexpr int stride = JV * Simd<T>::lanes;
    for (int64_t k = 0; k < n_in; ++k)
        for (int q = 0; q < stride; ++q) wt[k * stride + q] = q < width ? W[(j0 + q) * n_in + k] : T(0);
    int64_t i0 = 0;
    for (; i0 + kSmallExamples <= m; i0 += kSmallExamples)
        small_forward_tile<T, kSmallExamples, JV>(in_rows, i0, n_in, wt, b, n_out, j0, width, Z);
    for (; i0 < m; ++i0) small_forward_tile<T, 1, JV>(in_rows, i0, n_in, wt, b, n_out, j0, width, Z);
}

template <class T>
void hidden_forward(const T* const* in_rows, int64_t m, int64_t n_in, const T* W, const T* b, int64_t n_out, T* Z) {
    if (n_in > kSmallInputs) return dense_forward(in_rows, m, n_in, W, b, n_out, Z);
    constexpr int L = Simd<T>::lanes;
    constexpr int chunk = kSmallVectors * L;
    T wt[kSmallInputs * chunk];
    for (int64_t j0 = 0; j0 < n_out; j0 += chunk) {
        const int width = static_cast<int>(n_out - j0 < chunk ? n_out - j0 : chunk);
        // As few vectors as the chunk's outputs need: the book's 10 outputs are one float32 vector
        // on AVX-512, not two (half the transposing and half the FMAs; each lane's sum unchanged).
        if (width <= L)
            small_forward_chunk<T, 1>(in_rows, m, n_in, W, wt, b, n_out, j0, width, Z);
        else
            small_forward_chunk<T, kSmallVectors>(in_rows, m, n_in, W, wt, b, n_out, j0, width, Z);
    }
}

// ---- backward: delta_in = (delta W) .* d_in, per example, tiles of KB vectors along the inputs ----

// Rows of W per block of backward_rest (their last columns copied into whole vectors, in L1) and
// examples per register tile.
constexpr int kRestRows = 64;
constexpr int kRestExamples = 8;

template <class T, int IB>
NNDL_INLINE void backward_rest_tile(const T* delta, int64_t i0, int64_t n_out, int64_t jb, int rows, const T* wr,
                                    int vectors, int64_t n_in, int64_t k_rest, bool first, bool last, const T* d_in,
                                    T* delta_in) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    for (int v = 0; v < vectors; ++v) {
        const int64_t k = k_rest + v * L;
        const int lanes = n_in - k < L ? static_cast<int>(n_in - k) : L;
        vec acc[IB];
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) acc[c] = first ? vec{} : load_part(delta_in + (i0 + c) * n_in + k, lanes);
        for (int r = 0; r < rows; ++r) {
            const vec w = load(wr + (r * vectors + v) * L);
            NNDL_UNROLL
            for (int c = 0; c < IB; ++c) acc[c] += splat(delta[(i0 + c) * n_out + jb + r]) * w;
        }
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) {
            if (last) acc[c] *= load_part(d_in + (i0 + c) * n_in + k, lanes);
            store_part(delta_in + (i0 + c) * n_in + k, acc[c], lanes);
        }
    }
}

// The columns [k_rest, n_in) of delta_in, fewer than dense_backward's tile: W's last columns copied
// into whole zero-padded vectors per block of rows, several examples at a time (one example's sum
// over j is a chain of dependent FMAs). Each lane sums over j in order from 0, as the loops this
// replaces did, with the partial sums kept in delta_in between blocks of rows (exact: they are T).
template <class T>
void backward_rest(const T* delta, int64_t m, int64_t n_out, const T* W, int64_t n_in, int64_t k_rest, const T* d_in,
                   T* delta_in) {
    constexpr int L = Simd<T>::lanes;
    constexpr int kMaxVectors = 4;  // dense_backward's tile, KB vectors
    const int vectors = static_cast<int>((n_in - k_rest + L - 1) / L);
    T wr[kRestRows * kMaxVectors * L];
    for (int64_t jb = 0; jb < n_out; jb += kRestRows) {
        const int rows = static_cast<int>(n_out - jb < kRestRows ? n_out - jb : kRestRows);
        for (int r = 0; r < rows; ++r)
            for (int v = 0; v < vectors; ++v) {
                const int64_t k = k_rest + v * L;
                const int lanes = n_in - k < L ? static_cast<int>(n_in - k) : L;
                store(wr + (r * vectors + v) * L, load_part(W + (jb + r) * n_in + k, lanes));
            }
        const bool first = jb == 0, last = jb + rows == n_out;
        int64_t i0 = 0;
        for (; i0 + kRestExamples <= m; i0 += kRestExamples)
            backward_rest_tile<T, kRestExamples>(delta, i0, n_out, jb, rows, wr, vectors, n_in, k_rest, first, last,
                                                 d_in, delta_in);
        for (; i0 < m; ++i0)
            backward_rest_tile<T, 1>(delta, i0, n_out, jb, rows, wr, vectors, n_in, k_rest, first, last, d_in,
                                     delta_in);
    }
}

// IB examples by KB vectors of delta_in: each W vector loaded once serves IB examples (one example
// per tile read W once per FMA, so the tile was bound by loads, not by FMAs). Every output is still
// its own chain, sum over j in order from 0, then times d_in: the tile shape changes no bit.
template <class T, int IB, int KB>
NNDL_INLINE void backward_tile(const T* delta, int64_t i0, int64_t n_out, const T* W, int64_t n_in, int64_t k,
                               const T* d_in, T* delta_in) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    vec acc[IB][KB];
    NNDL_UNROLL
    for (int c = 0; c < IB; ++c) {
        NNDL_UNROLL
        for (int v = 0; v < KB; ++v) acc[c][v] = vec{};
    }
    const T* di = delta + i0 * n_out;
    for (int64_t j = 0; j < n_out; ++j) {
        vec w[KB];
        NNDL_UNROLL
        for (int v = 0; v < KB; ++v) {
            w[v] = load(W + j * n_in + k + v * L);
            if constexpr (IB > 1) NNDL_IN_REGISTER(w[v]);
        }
        NNDL_UNROLL
        for (int c = 0; c < IB; ++c) {
            const vec s = splat(di[c * n_out + j]);
            NNDL_UNROLL
            for (int v = 0; v < KB; ++v) acc[c][v] += s * w[v];
        }
    }
    NNDL_UNROLL
    for (int c = 0; c < IB; ++c) {
        NNDL_UNROLL
        for (int v = 0; v < KB; ++v)
            store(delta_in + (i0 + c) * n_in + k + v * L, acc[c][v] * load(d_in + (i0 + c) * n_in + k + v * L));
    }
}

// The tile of ib <= IB examples, chosen at run time for the last examples (a tile of one example
// reads W once per FMA: the remaining examples are better taken together).
template <class T, int IB, int KB>
NNDL_INLINE void backward_tile_any(int ib, const T* delta, int64_t i0, int64_t n_out, const T* W, int64_t n_in,
                                   int64_t k, const T* d_in, T* delta_in) {
    if (ib == IB) return backward_tile<T, IB, KB>(delta, i0, n_out, W, n_in, k, d_in, delta_in);
    if constexpr (IB > 1) backward_tile_any<T, IB - 1, KB>(ib, delta, i0, n_out, W, n_in, k, d_in, delta_in);
}

// Examples per backward tile: 6 x 4 vectors (24 accumulators) with 32 registers, 2 x 4 with 16.
constexpr int kBackwardExamples = kRegs >= 32 ? 6 : 2;
constexpr int kBackwardVectors = 4;

template <class T>
void dense_backward(const T* delta, int64_t m, int64_t n_out, const T* W, int64_t n_in, const T* d_in, T* delta_in) {
    constexpr int L = Simd<T>::lanes;
    constexpr int KB = kBackwardVectors;
    constexpr int IB = kBackwardExamples;
    const int64_t k_rest = n_in / (KB * L) * (KB * L);
    for (int64_t k = 0; k < k_rest; k += KB * L) {
        int64_t i = 0;
        for (; i + IB <= m; i += IB) backward_tile<T, IB, KB>(delta, i, n_out, W, n_in, k, d_in, delta_in);
        if (i < m)
            backward_tile_any<T, IB - 1, KB>(static_cast<int>(m - i), delta, i, n_out, W, n_in, k, d_in, delta_in);
    }
    if (k_rest < n_in) backward_rest(delta, m, n_out, W, n_in, k_rest, d_in, delta_in);
}

// ---- gradient tiles: acc[r][v] = sum_i delta[i][j0+r] * in[i][k0 + v*L ...] ----

template <class T, int JR, int KV>
NNDL_INLINE void gradient_tile(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j0,
                               int64_t k0, typename Simd<T>::vec (&acc)[JR][KV]) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    NNDL_UNROLL
    for (int r = 0; r < JR; ++r) {
        NNDL_UNROLL
        for (int v = 0; v < KV; ++v) acc[r][v] = vec{};
    }
    for (int64_t i = 0; i < m; ++i) {
        const T* x = in_rows[i] + k0;
        const T* di = delta + i * n_out + j0;
        vec xv[KV];
        NNDL_UNROLL
        for (int v = 0; v < KV; ++v) xv[v] = load(x + v * L);
        NNDL_UNROLL
        for (int r = 0; r < JR; ++r) {
            const vec s = splat(di[r]);
            NNDL_UNROLL
            for (int v = 0; v < KV; ++v) acc[r][v] += s * xv[v];
        }
    }
}

template <class T>
NNDL_INLINE T gradient_scalar(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j, int64_t k) {
    T g = 0;
    for (int64_t i = 0; i < m; ++i) {
        g += delta[i * n_out + j] * in_rows[i][k];
        NNDL_SCALAR_STEP(g);
    }
    return g;
}

// Rows of W per gradient tile, and vectors along the inputs per tile (JR*KV + KV + 1 registers).
constexpr int kGradRows = 5;
constexpr int kGradVectors = kRegs >= 32 ? 4 : 2;

template <class T, int JR, int KV>
void weight_gradient_tile(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in, int64_t j0,
                          int64_t k0, T* G) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    vec acc[JR][KV];
    gradient_tile<T, JR, KV>(delta, in_rows, m, n_out, j0, k0, acc);
    NNDL_UNROLL
    for (int r = 0; r < JR; ++r) {
        NNDL_UNROLL
        for (int v = 0; v < KV; ++v) store(G + (j0 + r) * n_in + k0 + v * L, acc[r][v]);
    }
}

template <class T, int JR>
void weight_gradient_rows(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in, int64_t j0,
                          T* G) {
    constexpr int L = Simd<T>::lanes;
    int64_t k = 0;
    for (; k + kGradVectors * L <= n_in; k += kGradVectors * L)
        weight_gradient_tile<T, JR, kGradVectors>(delta, in_rows, m, n_out, n_in, j0, k, G);
    for (; k + L <= n_in; k += L) weight_gradient_tile<T, JR, 1>(delta, in_rows, m, n_out, n_in, j0, k, G);
    for (; k < n_in; ++k)
        for (int r = 0; r < JR; ++r) G[(j0 + r) * n_in + k] = gradient_scalar(delta, in_rows, m, n_out, j0 + r, k);
}

template <class T, int JR>
NNDL_INLINE void weight_gradient_rows_any(int jr, const T* delta, const T* const* in_rows, int64_t m, int64_t n_out,
                                          int64_t n_in, int64_t j0, T* G) {
    if (jr == JR) return weight_gradient_rows<T, JR>(delta, in_rows, m, n_out, n_in, j0, G);
    if constexpr (JR > 1) weight_gradient_rows_any<T, JR - 1>(jr, delta, in_rows, m, n_out, n_in, j0, G);
}

template <class T>
void dense_weight_gradient(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in, T* G,
                           T* gb) {
    for (int64_t j0 = 0; j0 < n_out; j0 += kGradRows) {
        const int jr = static_cast<int>(n_out - j0 < kGradRows ? n_out - j0 : kGradRows);
        weight_gradient_rows_any<T, kGradRows>(jr, delta, in_rows, m, n_out, n_in, j0, G);
    }
    for (int64_t j = 0; j < n_out; ++j) {
        T s = 0;
        for (int64_t i = 0; i < m; ++i) s += delta[i * n_out + j];
        gb[j] = s;
    }
}

// ---- a sum of gathered rows: out[k] (+)= sum_r coef[r] rows[r][k] ----
//
// KV vectors of out stay in registers while every row passes (one load per multiply-add, no store
// in the loop): a row at a time through memory (out[k] += c x[k]) made each FMA wait on a load and
// a store of out. Each out[k] sums over r in order, one FMA a step, in a vector lane or in the
// scalar tail alike, so the tiling changes no bit.

constexpr int kGatherVectors = kRegs >= 32 ? 8 : 4;

template <class T, int KV>
NNDL_INLINE void gathered_tile(const T* coef, const T* const* rows, int64_t count, int64_t k, bool accumulate, T* out) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    vec acc[KV];
    NNDL_UNROLL
    for (int v = 0; v < KV; ++v) acc[v] = accumulate ? load(out + k + v * L) : vec{};
    for (int64_t r = 0; r < count; ++r) {
        const vec c = splat(coef[r]);
        const T* x = rows[r] + k;
        NNDL_UNROLL
        for (int v = 0; v < KV; ++v) acc[v] += c * load(x + v * L);
    }
    NNDL_UNROLL
    for (int v = 0; v < KV; ++v) store(out + k + v * L, acc[v]);
}

// The tile of kv <= KV vectors, chosen at run time for the last whole vectors of a row (one pass
// over the rows for all of them, not one pass per vector).
template <class T, int KV>
NNDL_INLINE void gathered_tile_any(int kv, const T* coef, const T* const* rows, int64_t count, int64_t k,
                                   bool accumulate, T* out) {
    if (kv == KV) return gathered_tile<T, KV>(coef, rows, count, k, accumulate, out);
    if constexpr (KV > 1) gathered_tile_any<T, KV - 1>(kv, coef, rows, count, k, accumulate, out);
}

template <class T>
void gathered_rows_sum(const T* coef, const T* const* rows, int64_t count, int64_t n, bool accumulate, T* out) {
    constexpr int L = Simd<T>::lanes;
    int64_t k = 0;
    for (; k + kGatherVectors * L <= n; k += kGatherVectors * L)
        gathered_tile<T, kGatherVectors>(coef, rows, count, k, accumulate, out);
    if (const int kv = static_cast<int>((n - k) / L); kv > 0) {
        gathered_tile_any<T, kGatherVectors - 1>(kv, coef, rows, count, k, accumulate, out);
        k += kv * L;
    }
    for (; k < n; ++k) {
        T s = accumulate ? out[k] : T(0);
        for (int64_t r = 0; r < count; ++r) {
            s += coef[r] * rows[r][k];
            NNDL_SCALAR_STEP(s);
        }
        out[k] = s;
    }
}

// ---- the regularized update (update_rule.hpp's formulas), specialized by rule ----

enum class Post { none, proximal, cumulative };

// The per-call constants, as vectors or scalars V.
template <class V>
struct UpdateConstants {
    V eta_over_m, l2_shrink, l1_step, momentum, l1_total, zero;
    bool shrinks;  // l2_shrink != 0
};

template <class T, class V>
NNDL_INLINE UpdateConstants<V> constants_of(const UpdateStep<T>& s) {
    const bool shrinks = s.l2_shrink != T(0);
    if constexpr (sizeof(V) == sizeof(T))
        return {s.eta_over_m, s.l2_shrink, s.l1_step, s.momentum, s.l1_total, T(0), shrinks};
    else
        return {splat(s.eta_over_m),
                splat(s.l2_shrink),
                splat(s.l1_step),
                splat(s.momentum),
                splat(s.l1_total),
                V{},
                shrinks};
}

template <class T, class V>
NNDL_INLINE V load_as(const T* p) {
    if constexpr (sizeof(V) == sizeof(T))
        return *p;
    else
        return load(p);
}
template <class T, class V>
NNDL_INLINE void store_as(T* p, V v) {
    if constexpr (sizeof(V) == sizeof(T))
        *p = v;
    else
        store(p, v);
}

// The book's l1*sgn(w), sgn(0) = 0: l1 with w's sign bit, kept where w != 0.
NNDL_INLINE vd l1_times_sign(vd w, const UpdateConstants<vd>& c) {
    const vd signed_l1 = (vd)(((vl)w & (vl)splat<double>(-0.0)) | (vl)c.l1_step);
    return select(w != c.zero, signed_l1, c.zero);
}
NNDL_INLINE vf l1_times_sign(vf w, const UpdateConstants<vf>& c) {
    const vf signed_l1 = (vf)(((vi)w & (vi)splat<float>(-0.0f)) | (vi)c.l1_step);
    return select(w != c.zero, signed_l1, c.zero);
}
template <class T>
NNDL_INLINE T l1_times_sign(T w, const UpdateConstants<T>& c) {
    return w > c.zero ? c.l1_step : (w < c.zero ? -c.l1_step : c.zero);
}

// v - l1*sgn(w). On AVX-512, sgn(w) is one vfixupimm (a value chosen by w's class: zeros give +0,
// positives and +inf +1, negatives and -inf -1, NaN a NaN) and the product folds into a multiply-add:
// two instructions where l1_times_sign and the subtraction take four. The same value: l1*sgn(w) is
// exact, so the multiply-add rounds once, as the subtraction does. Measured in cache
// (benchmarks/sparse_in_cache.cpp, 3 runs), the book's rule at 784-30 m=10 float64: the sparse
// update 7.4 -> 7.2 us, the dense fused update 13.3 -> 12.4 us.
template <class T, class V>
NNDL_INLINE V minus_l1_sign(V v, V w, const UpdateConstants<V>& c) {
#if defined(__AVX512F__) && NNDL_VECTOR_BYTES == 64
    if constexpr (sizeof(V) != sizeof(T)) {
        // The token for class j in bits 4j..4j+3. Classes: QNaN, SNaN, zero, +1, -inf, +inf, negative,
        // positive. Tokens: 2 the NaN quieted, 8 +0, 9 -1, 10 +1.
        constexpr int kSignTable = static_cast<int>(0xA9A9A822u);
        V sign;
        if constexpr (sizeof(T) == 8)
            sign = (V)_mm512_fixupimm_pd((__m512d)w, (__m512d)w, _mm512_set1_epi64(kSignTable), 0);
        else
            sign = (V)_mm512_fixupimm_ps((__m512)w, (__m512)w, _mm512_set1_epi32(kSignTable), 0);
        return v - c.l1_step * sign;
    }
#endif
    return v - l1_times_sign(w, c);
}

// Whether the update without momentum takes its L2 multiply-add is decided by the caller once for a
// tile of weights (with_shrink), not for every vector of the tile's unrolled loop: GCC kept the
// test there, with a reload of l2_shrink from the stack, about five instructions a vector of
// weights. On AVX2 (a guest without AVX-512, one core, 4 alternating rounds) the book's 784-30-10
// float64 m=10: 0.133-0.137 -> 0.121-0.122 s an epoch.
template <bool kShrink>
using ShrinkIs = std::bool_constant<kShrink>;

// body(ShrinkIs<true or false>) as the constants say (momentum's step always takes the L2 term).
template <bool kMomentum, class V, class Body>
NNDL_INLINE void with_shrink(const UpdateConstants<V>& c, Body body) {
    if (kMomentum || c.shrinks)
        body(ShrinkIs<true>{});
    else
        body(ShrinkIs<false>{});
}

#if NNDL_VECTOR_BYTES == 64 && !defined(__AVX512F__) && defined(__FMA__)
// minus_product of 64-byte vectors on AVX2 (the avx512-on-avx2 test set): one FMA per 32-byte half,
// each lane rounded once, as AVX-512's one FMA rounds it.
NNDL_INLINE vd minus_product_halves(vd c, vd a, vd b) {
    __m256d x[2], y[2], z[2];
    std::memcpy(x, &a, sizeof a);
    std::memcpy(y, &b, sizeof b);
    std::memcpy(z, &c, sizeof c);
    for (int h = 0; h < 2; ++h) z[h] = _mm256_fnmadd_pd(x[h], y[h], z[h]);
    std::memcpy(&c, z, sizeof c);
    return c;
}
NNDL_INLINE vf minus_product_halves(vf c, vf a, vf b) {
    __m256 x[2], y[2], z[2];
    std::memcpy(x, &a, sizeof a);
    std::memcpy(y, &b, sizeof b);
    std::memcpy(z, &c, sizeof c);
    for (int h = 0; h < 2; ++h) z[h] = _mm256_fnmadd_ps(x[h], y[h], z[h]);
    std::memcpy(&c, z, sizeof c);
    return c;
}
#endif

// c - a*b, rounded once on the kernel sets with FMA (AVX2, AVX-512) and twice on SSE2: the update's
// grouping spelled out, so that the bits do not hang on which products the compiler fuses. With the
// L2 test taken out of the tiles (with_shrink), GCC computed (eta/m)*g once ahead of the two
// branches, a product with two uses, which it does not fuse; in the dense kernel it did, and the
// dense and sparse paths differed in the last bit.
template <class V>
NNDL_INLINE V minus_product(V c, V a, V b) {
#if defined(__FMA__)
    if constexpr (std::is_same_v<V, double>) {
        return __builtin_fma(-a, b, c);
    } else if constexpr (std::is_same_v<V, float>) {
        return __builtin_fmaf(-a, b, c);
#if NNDL_VECTOR_BYTES == 64 && defined(__AVX512F__)
    } else if constexpr (std::is_same_v<V, vd>) {
        return (vd)_mm512_fnmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
    } else if constexpr (std::is_same_v<V, vf>) {
        return (vf)_mm512_fnmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif NNDL_VECTOR_BYTES == 64
    } else if constexpr (std::is_same_v<V, vd> || std::is_same_v<V, vf>) {
        // The avx512-on-avx2 test set: each half rounded once by AVX2's FMA, as one AVX-512 FMA rounds.
        return minus_product_halves(c, a, b);
#elif NNDL_VECTOR_BYTES == 32
    } else if constexpr (std::is_same_v<V, vd>) {
        return (vd)_mm256_fnmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
    } else if constexpr (std::is_same_v<V, vf>) {
        return (vf)_mm256_fnmadd_ps((__m256)a, (__m256)b, (__m256)c);
#endif
    } else {
        return c - a * b;
    }
#else
    return c - a * b;
#endif
}

// One weight (scalar V) or one vector of weights: the new value of w, given its summed gradient g.
// vel / q point at the weight's velocity and l1_applied entries when the rule uses them; kShrink:
// whether the step takes its L2 term (with_shrink); kGradient false: g is 0 and its term, w - 0, is
// left out (exact: w - (eta/m)*0 is w, -0 included).
template <bool kSubgradient, bool kMomentum, Post kPost, class T, class V, bool kShrink, bool kGradient = true>
NNDL_INLINE V updated_weight(V w, V g, const UpdateConstants<V>& c, T* vel, T* q) {
    static_assert(kGradient || !kMomentum, "momentum's step is written with its gradient term");
    V v;
    if constexpr (kMomentum) {
        V step = -(c.eta_over_m * g) - c.l2_shrink * w;
        if constexpr (kSubgradient) step = minus_l1_sign<T, V>(step, w, c);
        const V velocity = c.momentum * load_as<T, V>(vel) + step;
        store_as<T, V>(vel, velocity);
        v = w + velocity;
    } else {
        // The same step grouped for two fused multiply-adds (w - l2*w, then - (eta/m)*g); this
        // runs once per weight per mini-batch, as often as one example's gradient FMA. Without L2
        // (the book's L1, no regularization) the first is skipped. w - 0*w is w, except that it
        // turned a weight of -0 into +0 (a weight of -0 now stays -0: the same value). The test is
        // the same every time, and costs less than the multiply-add (once a tile: with_shrink). Measured in cache
        // (benchmarks/sparse_in_cache.cpp, 3 runs), the book's rule at 784-30 m=10: sparse update
        // float64 5.85 -> 5.65 us, dense update float32 6.1 -> 5.8.
        v = w;
        if constexpr (kShrink) v = minus_product(v, c.l2_shrink, w);
        if constexpr (kGradient) v = minus_product(v, c.eta_over_m, g);
        if constexpr (kSubgradient) v = minus_l1_sign<T, V>(v, w, c);
    }
    if constexpr (kPost == Post::proximal) {
        const V shrunk = abs_of(v) - c.l1_step;
        return select(shrunk > c.zero, select(v > c.zero, shrunk, -shrunk), c.zero);
    } else if constexpr (kPost == Post::cumulative) {
        const V applied = load_as<T, V>(q);
        V pos = v - (c.l1_total + applied);
        pos = select(pos < c.zero, c.zero, pos);
        V neg = v + (c.l1_total - applied);
        neg = select(neg > c.zero, c.zero, neg);
        const V out = select(v > c.zero, pos, select(v < c.zero, neg, v));
        store_as<T, V>(q, applied + (out - v));
        return out;
    } else {
        return v;
    }
}

// Biases per pass of bias_sums: kBiasVectors vectors of them.
constexpr int kBiasVectors = 4;

// sums[t] = delta[0][jb + t] + delta[1][jb + t] + ... + delta[m-1][jb + t], added in example order,
// for t in [0, count), count <= kBiasVectors * L: each lane one bias's chain of m additions, in the
// order of the scalar loop these replace, so the same bits. That loop ran the chains one bias after
// another, 4 cycles an addition: at m = 100, 2.2 us for 30 biases, 40% of a 30-30 layer's update.
template <class T>
NNDL_INLINE void bias_sums(const T* delta, int64_t m, int64_t n_out, int64_t jb, int count, T* sums) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    const int whole = count / L, rest = count - whole * L;
    vec acc[kBiasVectors], tail{};
    NNDL_UNROLL
    for (int v = 0; v < kBiasVectors; ++v) acc[v] = vec{};
    for (int64_t i = 0; i < m; ++i) {
        const T* d = delta + i * n_out + jb;
        NNDL_UNROLL
        for (int v = 0; v < kBiasVectors; ++v)
            if (v < whole) acc[v] += load(d + v * L);
        if (kMaskedParts && rest > 0) tail += load_part(d + whole * L, rest);  // a copy loop elsewhere
    }
    NNDL_UNROLL
    for (int v = 0; v < kBiasVectors; ++v)
        if (v < whole) store(sums + v * L, acc[v]);
    if (kMaskedParts && rest > 0) {
        store_part(sums + whole * L, tail, rest);
        return;
    }
    for (int t = whole * L; t < count; ++t) {
        T sum = 0;
        for (int64_t i = 0; i < m; ++i) sum += delta[i * n_out + jb + t];
        sums[t] = sum;
    }
}

// Bias j's update: biases are never regularized, the plain (momentum) step on delta summed over the
// mini-batch in example order (bias_sum). Shared by the dense and the sparse update, so both give the
// same bits.
template <class T, bool kMomentum>
NNDL_INLINE T updated_bias(T bias_sum, int64_t j, T* b, const UpdateStep<T>& s, T* vb) {
    const T step = -s.eta_over_m * bias_sum;
    T bias = b[j];
    if constexpr (kMomentum) {
        vb[j] = s.momentum * vb[j] + step;
        bias += vb[j];
    } else {
        bias += step;
    }
    b[j] = bias;
    return bias;
}

// Biases [j_begin, j_end) updated (updated_bias); visit(j, b_new) for each.
template <class T, bool kMomentum, class Visit>
NNDL_INLINE void update_biases(const T* delta, int64_t m, int64_t n_out, int64_t j_begin, int64_t j_end, T* b,
                               const UpdateStep<T>& s, T* vb, Visit visit) {
    constexpr int64_t chunk = kBiasVectors * Simd<T>::lanes;
    T sums[chunk];
    for (int64_t jb = j_begin; jb < j_end; jb += chunk) {
        const int count = static_cast<int>(j_end - jb < chunk ? j_end - jb : chunk);
        bias_sums(delta, m, n_out, jb, count, sums);
        for (int t = 0; t < count; ++t) visit(jb + t, updated_bias<T, kMomentum>(sums[t], jb + t, b, s, vb));
    }
}

template <class T, bool kSubgradient, bool kMomentum, Post kPost, int JR, int KV>
NNDL_INLINE void fused_tile(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in, int64_t j0,
                            int64_t k0, T* W, T* vw, T* qw, const UpdateConstants<typename Simd<T>::vec>& c,
                            typename Simd<T>::vec (&change)[JR]) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    vec acc[JR][KV];
    gradient_tile<T, JR, KV>(delta, in_rows, m, n_out, j0, k0, acc);
    with_shrink<kMomentum>(c, [&](auto shrink) {
        NNDL_UNROLL
        for (int r = 0; r < JR; ++r) {
            NNDL_UNROLL
            for (int v = 0; v < KV; ++v) {
                const int64_t at = (j0 + r) * n_in + k0 + v * L;
                const vec old = load(W + at);
                const vec now = updated_weight<kSubgradient, kMomentum, kPost, T, vec, decltype(shrink)::value>(
                    old, acc[r][v], c, kMomentum ? vw + at : nullptr, kPost == Post::cumulative ? qw + at : nullptr);
                store(W + at, now);
                change[r] += abs_of(now - old);
            }
        }
    });
}

// Rows j0 .. j0+JR-1, input columns [kb, ke) (whole vectors): gradient tiles and their update;
// adds each row's sum |w_new - w_old| over these columns to row_change.
template <class T, bool kSubgradient, bool kMomentum, Post kPost, int JR>
void fused_rows(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in, int64_t j0, int64_t kb,
                int64_t ke, T* W, const UpdateConstants<typename Simd<T>::vec>& cv, T* vw, T* qw, double* row_change) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    vec change[JR];
    NNDL_UNROLL
    for (int r = 0; r < JR; ++r) change[r] = vec{};
    int64_t k = kb;
    for (; k + kGradVectors * L <= ke; k += kGradVectors * L)
        fused_tile<T, kSubgradient, kMomentum, kPost, JR, kGradVectors>(delta, in_rows, m, n_out, n_in, j0, k, W, vw,
                                                                        qw, cv, change);
    for (; k + L <= ke; k += L)
        fused_tile<T, kSubgradient, kMomentum, kPost, JR, 1>(delta, in_rows, m, n_out, n_in, j0, k, W, vw, qw, cv,
                                                             change);
    for (int r = 0; r < JR; ++r) row_change[j0 + r] += static_cast<double>(reduce_add(change[r]));
}

template <class T, bool kSubgradient, bool kMomentum, Post kPost, int JR>
NNDL_INLINE void fused_rows_any(int jr, const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t n_in,
                                int64_t j0, int64_t kb, int64_t ke, T* W,
                                const UpdateConstants<typename Simd<T>::vec>& cv, T* vw, T* qw, double* row_change) {
    if (jr == JR)
        return fused_rows<T, kSubgradient, kMomentum, kPost, JR>(delta, in_rows, m, n_out, n_in, j0, kb, ke, W, cv, vw,
                                                                 qw, row_change);
    if constexpr (JR > 1)
        fused_rows_any<T, kSubgradient, kMomentum, kPost, JR - 1>(jr, delta, in_rows, m, n_out, n_in, j0, kb, ke, W, cv,
                                                                  vw, qw, row_change);
}

// Rows and examples per block of the tail (the columns after the last whole vector): the block's
// tail inputs are copied once into whole, zero-padded vectors, and its rows' accumulators stay in
// L1 (kTailRows * kTailExamples vector FMAs per kTailExamples short copies).
constexpr int kTailRows = 64;
constexpr int kTailExamples = 64;

// The tail columns of rows [j_begin, j_end), as vectors: lane t is column n_vec + t. Each lane sums
// its gradient over the examples in order with one FMA per example, as gradient_scalar does, and
// updates its weight by the same updated_weight, so the bits are those of the scalar loop it
// replaces (a 30-input layer has a 14-column tail in float32 on AVX-512: one chain of m dependent
// FMAs per weight, the slowest part of a small layer's update). Padding lanes hold w = g = 0 and
// stay 0 under every rule, adding nothing to the change.
template <class T, bool kSubgradient, bool kMomentum, Post kPost>
void fused_tail(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j_begin, int64_t j_end,
                int64_t n_in, T* W, const UpdateConstants<typename Simd<T>::vec>& cv, T* vw, T* qw,
                double* row_change) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    constexpr int R = 4;  // rows per register tile
    const int64_t n_vec = n_in / L * L;
    const int tail = static_cast<int>(n_in - n_vec);
    vec x[kTailExamples];
    vec acc[kTailRows];
    for (int64_t jb = j_begin; jb < j_end; jb += kTailRows) {
        const int rows = static_cast<int>(j_end - jb < kTailRows ? j_end - jb : kTailRows);
        for (int r = 0; r < rows; ++r) acc[r] = vec{};
        for (int64_t ib = 0; ib < m; ib += kTailExamples) {
            const int count = static_cast<int>(m - ib < kTailExamples ? m - ib : kTailExamples);
            for (int c = 0; c < count; ++c) x[c] = load_part(in_rows[ib + c] + n_vec, tail);
            int r = 0;
            for (; r + R <= rows; r += R) {
                vec a[R];
                NNDL_UNROLL
                for (int q = 0; q < R; ++q) a[q] = acc[r + q];
                for (int c = 0; c < count; ++c) {
                    const T* d = delta + (ib + c) * n_out + jb + r;
                    NNDL_UNROLL
                    for (int q = 0; q < R; ++q) a[q] += splat(d[q]) * x[c];
                }
                NNDL_UNROLL
                for (int q = 0; q < R; ++q) acc[r + q] = a[q];
            }
            for (; r < rows; ++r) {
                vec a = acc[r];
                for (int c = 0; c < count; ++c) a += splat(delta[(ib + c) * n_out + jb + r]) * x[c];
                acc[r] = a;
            }
        }
        with_shrink<kMomentum>(cv, [&](auto shrink) {
            for (int r = 0; r < rows; ++r) {
                const int64_t at = (jb + r) * n_in + n_vec;
                const vec old = load_part(W + at, tail);
                vec vel{}, applied{};
                if constexpr (kMomentum) vel = load_part(vw + at, tail);
                if constexpr (kPost == Post::cumulative) applied = load_part(qw + at, tail);
                T vel_lanes[L], applied_lanes[L];
                store(vel_lanes, vel);
                store(applied_lanes, applied);
                const vec now = updated_weight<kSubgradient, kMomentum, kPost, T, vec, decltype(shrink)::value>(
                    old, acc[r], cv, vel_lanes, applied_lanes);
                store_part(W + at, now, tail);
                if constexpr (kMomentum) store_part(vw + at, load(vel_lanes), tail);
                if constexpr (kPost == Post::cumulative) store_part(qw + at, load(applied_lanes), tail);
                row_change[jb + r] += static_cast<double>(reduce_add(abs_of(now - old)));
            }
        });
    }
}

template <class T, bool kSubgradient, bool kMomentum, Post kPost>
void fused_update_rule(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j_begin,
                       int64_t j_end, int64_t n_in, T* W, T* b, const UpdateStep<T>& s, T* vw, T* vb, T* qw,
                       double* row_change) {
    constexpr int L = Simd<T>::lanes;
    const UpdateConstants<typename Simd<T>::vec> cv = constants_of<T, typename Simd<T>::vec>(s);
    for (int64_t j = j_begin; j < j_end; ++j) row_change[j] = 0;
    // Blocks of input columns whose slice of the mini-batch stays in L2 while every row tile
    // passes it. A weight's gradient and update are the same whatever the block.
    const int64_t n_vec = n_in / L * L;
    constexpr int64_t tile = kGradVectors * L;
    int64_t width = kL2Budget / (m * static_cast<int64_t>(sizeof(T)));
    width = width < tile ? tile : width / tile * tile;
    for (int64_t kb = 0; kb < n_vec; kb += width) {
        const int64_t ke = n_vec - kb < width ? n_vec : kb + width;
        for (int64_t j0 = j_begin; j0 < j_end; j0 += kGradRows) {
            const int jr = static_cast<int>(j_end - j0 < kGradRows ? j_end - j0 : kGradRows);
            fused_rows_any<T, kSubgradient, kMomentum, kPost, kGradRows>(jr, delta, in_rows, m, n_out, n_in, j0, kb, ke,
                                                                         W, cv, vw, qw, row_change);
        }
    }
    if (n_vec < n_in)
        fused_tail<T, kSubgradient, kMomentum, kPost>(delta, in_rows, m, n_out, j_begin, j_end, n_in, W, cv, vw, qw,
                                                      row_change);
    update_biases<T, kMomentum>(delta, m, n_out, j_begin, j_end, b, s, vb,
                                [&](int64_t j, T bias) { row_change[j] += static_cast<double>(bias - bias); });
}

template <class T>
void fused_update(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j_begin, int64_t j_end,
                  int64_t n_in, T* W, T* b, const UpdateStep<T>& s, T* vw, T* vb, T* qw, double* row_change) {
    // The rule's branches, resolved here once for the whole call.
    const bool proximal = s.has_l1 && s.l1_method == L1Method::proximal;
    const bool cumulative = s.has_l1 && s.l1_method == L1Method::cumulative;
    const bool subgradient = s.has_l1 && s.l1_method == L1Method::subgradient;
    auto run = [&](auto kernel) {
        kernel(delta, in_rows, m, n_out, j_begin, j_end, n_in, W, b, s, vw, vb, qw, row_change);
    };
    if (s.has_momentum) {
        if (proximal) return run(fused_update_rule<T, false, true, Post::proximal>);
        if (cumulative) return run(fused_update_rule<T, false, true, Post::cumulative>);
        if (subgradient) return run(fused_update_rule<T, true, true, Post::none>);
        return run(fused_update_rule<T, false, true, Post::none>);
    }
    if (proximal) return run(fused_update_rule<T, false, false, Post::proximal>);
    if (cumulative) return run(fused_update_rule<T, false, false, Post::cumulative>);
    if (subgradient) return run(fused_update_rule<T, true, false, Post::none>);
    return run(fused_update_rule<T, false, false, Post::none>);
}

// ---- sparse inputs: a first layer that reads only the nonzero inputs ----
//
// Most of an MNIST image is exact zeros (about 81% of its pixels). With sparse inputs the first
// layer's weights are kept input-major (Wt[k][j], rows padded to whole vectors with zeros, ld per
// row) and only the nonzero inputs are read, by the forward product and by the gradient.
//
// A row's nonzeros are gathered into lane groups: group l < L holds the k < n_vec (n_vec = n_in / L * L)
// with k mod L == l, group L the tail k >= n_vec, each in increasing k. The dense forward tile sums
// lane l of its vector accumulators over exactly these k, in this order, and then adds the lanes
// pairwise (reduce_add) before the tail: summing each group in turn and adding the groups the same
// way gives the same bits, since adding w*0 changes no sum. The gradient of weight (j, k) is summed
// over the examples in order in both paths. So the sparse path computes every number the dense path
// computes, bit for bit (tests/test_sparse_inputs.py), only skipping the products with zero inputs.

// What the gather writes for each nonzero is the number of its weight row in the layer's input-major
// weights, not its input number k: the row itself when half_rows is 0, and with the rows of even and
// odd inputs in two halves (sparse_inputs.hpp's parity halves), row k / 2 of the half k mod 2, which
// starts at row half_rows. The forward product, the sort and the input cache then use the number
// as it is, at no cost per entry.
NNDL_INLINE int64_t row_of_input(int64_t k, int64_t half_rows) {
    return half_rows == 0 ? k : (k >> 1) + (k & 1) * half_rows;
}

// One vector of a row's inputs, [k, k + L), into the lane groups: lane l to group l's next slot,
// pos[l]. Written whether zero or not, the position advancing only past a nonzero: no branch per
// input. A group's position never passes its end: the t-th vector writes at most entry t.
template <class T>
NNDL_INLINE void gather_vector(typename Simd<T>::vec v, int64_t k, int64_t half_rows, int32_t* idx, T* val,
                               int64_t* pos) {
    constexpr int L = Simd<T>::lanes;
    T lane[L];
    std::memcpy(lane, &v, sizeof lane);
    NNDL_UNROLL
    for (int l = 0; l < L; ++l) {
        idx[pos[l]] = static_cast<int32_t>(row_of_input(k + l, half_rows));
        val[pos[l]] = lane[l];
        pos[l] += lane[l] != T(0);  // -0.0 counts as zero; NaN as nonzero (the row is refused)
    }
}

#if (defined(__AVX512F__) && NNDL_VECTOR_BYTES == 64) || (defined(__AVX2__) && NNDL_VECTOR_BYTES == 32)
#define NNDL_GATHER_TILES 1
#endif

#ifdef NNDL_GATHER_TILES
// AVX-512 gathers a tile of L vectors (L * L inputs) at a time: transposed in registers, so that
// vector g holds group g's next L inputs, each group's nonzeros are then packed (vcompress) and
// written with one full-width store, with no work per lane (10 MNIST rows read from L3, timed by
// benchmarks/sparse_in_cache.cpp: 16.5 -> 6.7 us float64, 6.7 -> 1.8 us float32, against writing
// every lane of every vector that has a nonzero). The store may write past a group's last entry but
// never past its region: after the tiles before input k a group holds at most k / L entries, and a
// tile runs only while k + L * L <= n_vec, so k / L + L <= cap. The intrinsics are inline functions
// of the compiler's own headers, never emitted out of line, so they are private to this TU.
//
// AVX2 has no vcompress: each group's nonzeros are packed by a permutation looked up by their mask
// (vpermps/vpermd), into the same layout with the same full-width stores. In cache, AVX2, one core
// (benchmarks/sparse_in_cache.cpp built for the avx2 set, 3 runs), against the lane-by-lane writes
// below: 10 rows float64 7.8 -> 4.1-4.4 us, float32 5.8-5.9 -> 2.1 us; 100 rows float64 77-82 ->
// 40-42 us, float32 57-58 -> 21-22 us.

// Stage B of the transpose: rows r and r + B (bit B of r clear) swap the lanes whose bit B differs
// from the row's; after the stages for every bit, v[g][r] is the old v[r][g].
template <int B, class V, int... I>
NNDL_INLINE void swap_lane_blocks(V& a, V& c, std::integer_sequence<int, I...>) {
    constexpr int L = sizeof...(I);
    const V low = __builtin_shufflevector(a, c, ((I & B) ? L + I - B : I)...);
    const V high = __builtin_shufflevector(a, c, ((I & B) ? L + I : I + B)...);
    a = low;
    c = high;
}
template <class T, int B>
NNDL_INLINE void transpose_tile(typename Simd<T>::vec (&v)[Simd<T>::lanes]) {
    constexpr int L = Simd<T>::lanes;
    NNDL_UNROLL
    for (int r = 0; r < L; ++r)
        if (!(r & B)) swap_lane_blocks<B>(v[r], v[r + B], std::make_integer_sequence<int, L>{});
    if constexpr (B > 1) transpose_tile<T, B / 2>(v);
}

// The nonzeros of c (inputs k0, k0 + L, k0 + 2L, ...) packed to idx and val; returns their count.
// Their row numbers (row_of_input): first (k0's) plus L per lane, or L / 2 with the parity halves
// (shift 1: the inputs of one group are all even or all odd).
#if NNDL_VECTOR_BYTES == 64
NNDL_INLINE int64_t pack_nonzeros(vd c, int64_t first, int shift, int32_t* idx, double* val) {
    const __mmask8 nonzero = _mm512_cmp_pd_mask((__m512d)c, _mm512_setzero_pd(), _CMP_NEQ_UQ);
    _mm512_storeu_pd(val, _mm512_maskz_compress_pd(nonzero, (__m512d)c));
    const __m512i steps = _mm512_srl_epi64(_mm512_set_epi64(56, 48, 40, 32, 24, 16, 8, 0), _mm_cvtsi32_si128(shift));
    const __m512i k = _mm512_add_epi64(steps, _mm512_set1_epi64(first));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx),
                        _mm512_maskz_cvtepi64_epi32(0xff, _mm512_maskz_compress_epi64(nonzero, k)));
    return __builtin_popcount(nonzero);
}
NNDL_INLINE int64_t pack_nonzeros(vf c, int64_t first, int shift, int32_t* idx, float* val) {
    const __mmask16 nonzero = _mm512_cmp_ps_mask((__m512)c, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    _mm512_storeu_ps(val, _mm512_maskz_compress_ps(nonzero, (__m512)c));
    const __m512i steps =
        _mm512_srl_epi32(_mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128, 112, 96, 80, 64, 48, 32, 16, 0),
                         _mm_cvtsi32_si128(shift));
    const __m512i k = _mm512_add_epi32(steps, _mm512_set1_epi32(static_cast<int32_t>(first)));
    _mm512_storeu_si512(idx, _mm512_maskz_compress_epi32(nonzero, k));
    return __builtin_popcount(nonzero);
}
NNDL_INLINE bool all_zero(vl bits) { return _mm512_test_epi64_mask((__m512i)bits, (__m512i)bits) == 0; }
#else
// For each mask of lanes (bit l: lane l is nonzero), the 32-bit lanes that move to the front, in
// order: the permutation that packs them (vpermps/vpermd). float32: 256 masks of 8 lanes; float64:
// 16 masks of 4 lanes, each lane of two 32-bit halves.
struct PackPermutations {
    alignas(32) int32_t float32[256][8];
    alignas(32) int32_t float64[16][8];
};
constexpr PackPermutations pack_permutations() {
    PackPermutations p{};
    for (int mask = 0; mask < 256; ++mask) {
        int n = 0;
        for (int l = 0; l < 8; ++l)
            if ((mask >> l) & 1) p.float32[mask][n++] = l;
    }
    for (int mask = 0; mask < 16; ++mask) {
        int n = 0;
        for (int l = 0; l < 4; ++l)
            if ((mask >> l) & 1) p.float64[mask][n++] = 2 * l, p.float64[mask][n++] = 2 * l + 1;
    }
    return p;
}
constexpr PackPermutations kPack = pack_permutations();

NNDL_INLINE int64_t pack_nonzeros(vd c, int64_t first, int shift, int32_t* idx, double* val) {
    const int nonzero = _mm256_movemask_pd(_mm256_cmp_pd((__m256d)c, _mm256_setzero_pd(), _CMP_NEQ_UQ));
    const __m256i to_front = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPack.float64[nonzero]));
    _mm256_storeu_ps(reinterpret_cast<float*>(val), _mm256_permutevar8x32_ps((__m256)c, to_front));
    // The row numbers are 4 x 32 bits: lane l's number sits at 32-bit lane 2l of the permuted pair.
    const __m256i steps = _mm256_srl_epi32(_mm256_set_epi32(0, 12, 0, 8, 0, 4, 0, 0), _mm_cvtsi32_si128(shift));
    const __m256i k = _mm256_add_epi32(steps, _mm256_set1_epi32(static_cast<int32_t>(first)));
    const __m256i packed = _mm256_permutevar8x32_epi32(k, to_front);
    const __m256i evens = _mm256_permutevar8x32_epi32(packed, _mm256_set_epi32(7, 5, 3, 1, 6, 4, 2, 0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(idx), _mm256_castsi256_si128(evens));
    return __builtin_popcount(static_cast<unsigned>(nonzero));
}
NNDL_INLINE int64_t pack_nonzeros(vf c, int64_t first, int shift, int32_t* idx, float* val) {
    const int nonzero = _mm256_movemask_ps(_mm256_cmp_ps((__m256)c, _mm256_setzero_ps(), _CMP_NEQ_UQ));
    const __m256i to_front = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPack.float32[nonzero]));
    _mm256_storeu_ps(val, _mm256_permutevar8x32_ps((__m256)c, to_front));
    const __m256i steps = _mm256_srl_epi32(_mm256_set_epi32(56, 48, 40, 32, 24, 16, 8, 0), _mm_cvtsi32_si128(shift));
    const __m256i k = _mm256_add_epi32(steps, _mm256_set1_epi32(static_cast<int32_t>(first)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx), _mm256_permutevar8x32_epi32(k, to_front));
    return __builtin_popcount(static_cast<unsigned>(nonzero));
}
NNDL_INLINE bool all_zero(vl bits) { return _mm256_testz_si256((__m256i)bits, (__m256i)bits); }
#endif

// Inputs [k, k + L * L) of a row into the lane groups (base: the row's slots; pos[g] as above).
template <class T>
NNDL_INLINE void gather_tile(const T* x, int64_t k, int64_t half_rows, int32_t* idx, T* val, int64_t* pos,
                             typename Simd<T>::vec& check) {
    using vec = typename Simd<T>::vec;
    using ivec = typename Simd<T>::ivec;
    constexpr int L = Simd<T>::lanes;
    vec v[L];
    ivec bits{};
    NNDL_UNROLL
    for (int r = 0; r < L; ++r) {
        v[r] = load(x + k + r * L);
        check += v[r] - v[r];
        bits |= (ivec)v[r];
    }
    // All zeros (+0.0 or -0.0): nothing to write (the top and bottom rows of an MNIST image).
    if (all_zero((vl)(bits & ~(ivec)splat<T>(T(-0.0))))) return;
    transpose_tile<T, L / 2>(v);
    NNDL_UNROLL
    for (int g = 0; g < L; ++g)
        pos[g] +=
            pack_nonzeros(v[g], row_of_input(k + g, half_rows), half_rows == 0 ? 0 : 1, idx + pos[g], val + pos[g]);
}
#endif

// Group g of row i starts at slot i * n_in + g * (n_vec / L) (the tail at + n_vec) and holds
// count[i * (L + 1) + g] entries. Returns the first row holding a NaN or an infinity, or -1 (the check
// first_nonfinite_row makes, on the same read).
template <class T>
int64_t gather_nonzeros(const T* const* rows, int64_t m, int64_t n_in, int64_t half_rows, int32_t* index, T* value,
                        int64_t* count) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    constexpr int words = kBytes / 8;
    const int64_t n_vec = n_in / L * L, cap = n_vec / L;
    for (int64_t i = 0; i < m; ++i) {
        const T* x = rows[i];
        int32_t* idx = index + i * n_in;
        T* val = value + i * n_in;
        int64_t pos[L + 1];
        for (int g = 0; g < L; ++g) pos[g] = g * cap;
        pos[L] = n_vec;
        vec check{};
        int64_t k = 0;
#ifdef NNDL_GATHER_TILES
        for (; k + L * L <= n_vec; k += L * L) gather_tile<T>(x, k, half_rows, idx, val, pos, check);
#endif
        for (; k < n_vec; k += L) {
            const vec v = load(x + k);
            check += v - v;
            const auto nonzero = v != vec{};
            uint64_t word[words];
            std::memcpy(word, &nonzero, sizeof word);
            uint64_t any = 0;
            for (int w = 0; w < words; ++w) any |= word[w];
            if (any) gather_vector<T>(v, k, half_rows, idx, val, pos);
        }
        T tail_check = 0;
        for (int64_t k = n_vec; k < n_in; ++k) {
            const T xk = x[k];
            tail_check += xk - xk;
            idx[pos[L]] = static_cast<int32_t>(row_of_input(k, half_rows));
            val[pos[L]] = xk;
            pos[L] += xk != T(0);
        }
        if (!(reduce_add(check) + tail_check == T(0))) return i;
        int64_t* c = count + i * (L + 1);
        for (int g = 0; g < L; ++g) c[g] = pos[g] - g * cap;
        c[L] = pos[L] - n_vec;
    }
    return -1;
}

// Tiles of JV vectors along the outputs j (JV accumulators and one broadcast in registers).
constexpr int kSparseTile = kRegs >= 32 ? 16 : 8;
// Rows of Wt per entry of the sparse update's change record (kernel_table.hpp: kSparseChangeBlock).
constexpr int64_t kChangeBlock = kSparseChangeBlock;

// The sparse forward product walks the lane groups outermost and, within a group, the examples of a
// block: a group's rows of Wt (k = g, g + L, ...: n_in / L rows of one output tile, 22 KB at 784
// float32 inputs and 7 vectors) are then read by every example of the block in turn, where walking
// one example's groups after another fetched each nonzero's row from L2 again. Measured, one core,
// AVX-512: the forward product at 784-100 float32 m=100 in cache (benchmarks/sparse_in_cache.cpp)
// 86 -> 74 us; in whole epochs (alternating builds, best of 3 rounds) 784-100-10 float32 m=100
// 0.139 -> 0.129 s, float64 0.223 -> 0.209 s, 784-500-10 float64 m=10 1.117 -> 1.054 s.
//
// Each group's sum must still be added to the others the way the dense tile's reduce_add adds its
// lanes: l and l + L/2, then l and l + L/4, ..., a binary tree whose leaves, left to right, are the
// groups in bit-reversed order (for L = 16: 0, 8, 4, 12, 2, ...). So the groups are taken in that
// order, and each example keeps a stack of pending left subtrees, one per level, carried like a
// binary counter: after leaf t, the subtrees of the levels where t has a one bit are added in, and
// the sum is kept at the first zero bit. The same additions of the same sums as reduce_add, so the
// same bits.
template <int kBits>
constexpr int bit_reversed(int t) {
    int r = 0;
    for (int b = 0; b < kBits; ++b) r |= ((t >> b) & 1) << (kBits - 1 - b);
    return r;
}
template <int L>
constexpr int log2_of() {
    int bits = 0;
    while ((1 << bits) < L) ++bits;
    return bits;
}

// The stacks of a block of examples, on the thread's stack: the block is as many examples as fit.
// (48 KB: 12 examples at 16 float32 vectors, 27 at 7. Larger, up to all of m = 100, gained at most
// 3% in cache at 784-500.)
constexpr int64_t kSparseForwardStack = 48 * 1024;
// Tiles of at most this many vectors walk one example at a time (sparse_forward_narrow): a narrow
// tile's rows are few enough to stay in L1 anyway, and a block only adds the stack's traffic (in
// cache, 784-30 m=100: float64, 4 vectors, 61 -> 57 us; float32, 2 vectors, 32.5 -> 30.3 us; in
// epochs, best of 9 alternating rounds, the book's 784-30-10 float64 m=10 0.139 -> 0.136 s).
constexpr int kOneExampleTile = 4;

// One example's nonzeros, read by entry number: gathered into its slots (input numbers and values),
// or kept by the input cache (input numbers in 2 bytes and pixel codes, decoded through its table).
// The same values either way, so the same sums.
template <class T>
struct GatheredEntries {
    const int32_t* index;
    const T* value;
    NNDL_INLINE int64_t input(int64_t e) const { return index[e]; }
    NNDL_INLINE T x(int64_t e) const { return value[e]; }
};
template <class T>
struct KeptEntries {
    const uint16_t* inputs;
    const uint8_t* codes;
    const T* decoded;
    NNDL_INLINE int64_t input(int64_t e) const { return inputs[e]; }
    NNDL_INLINE T x(int64_t e) const { return decoded[codes[e]]; }
};

// Calls body(entries, first) for example i of `rows`: its entries, and first[g] the first entry of
// its group g (L + 1 of them), from its kept record or its slots (slot_first: g * cap, the tail's).
template <class T, class Body>
NNDL_INLINE void with_example_entries(const SparseInputRows<T>& rows, int64_t i, int64_t n_in, int64_t groups,
                                      const int64_t* slot_first, Body body) {
    if (rows.kept && rows.kept[i].counts) {
        const KeptNonzeros& kept = rows.kept[i];
        body(KeptEntries<T>{kept.inputs, kept.codes, rows.decoded}, rows.kept_first + i * groups);
    } else {
        body(GatheredEntries<T>{rows.index + i * n_in, rows.value + i * n_in}, slot_first);
    }
}

// acc[v] += x * Wt[k][j0 + v*L ...] for the entries [e, end) of an example's group, in order.
template <class T, int JV, class Entries>
NNDL_INLINE void add_group_entries(typename Simd<T>::vec (&acc)[JV], int64_t e, int64_t end, const Entries& entries,
                                   const T* Wt, int64_t ld, int64_t j0) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    for (; e < end; ++e) {
        const vec s = splat(entries.x(e));
        const T* w = Wt + entries.input(e) * ld + j0;
        NNDL_UNROLL
        for (int v = 0; v < JV; ++v) acc[v] += s * load(w + v * L);  // x*w, as the dense tile's w*x
    }
}

// z[j0 .. j0 + JV*L) = the tile's sums plus b, the outputs beyond n_out left alone.
template <class T, int JV>
NNDL_INLINE void store_tile_outputs(const typename Simd<T>::vec (&acc)[JV], const T* b, int64_t n_out, int64_t j0,
                                    T* z) {
    constexpr int L = Simd<T>::lanes;
    if constexpr (kMaskedParts) {
        NNDL_UNROLL
        for (int v = 0; v < JV; ++v) {
            const int64_t at = j0 + v * L, rest = n_out - at;
            if (rest >= L) {
                store(z + at, acc[v] + load(b + at));
            } else if (rest > 0) {
                const int count = static_cast<int>(rest);
                store_part(z + at, acc[v] + load_part(b + at, count), count);
            }
        }
    } else {
        T out[JV * L];
        std::memcpy(out, acc, sizeof out);
        const int64_t width = n_out - j0 < JV * L ? n_out - j0 : JV * L;
        for (int64_t u = 0; u < width; ++u) z[j0 + u] = out[u] + b[j0 + u];
    }
}

// Which leaves of the reduction tree a forward product sums (a template argument, so that the tree's
// loops keep constant bounds: at run time they cost the book's 784-30-10 3% an epoch): all
// (kWholeTree), or the half of the even inputs' groups (0) or of the odd inputs' (1), whose
// subtree's sums go to `sums` (m rows of ld).
constexpr int kWholeTree = -1;
template <int kHalf, int L>
struct TreeLeaves {
    static constexpr int first = kHalf == kWholeTree ? 0 : kHalf * (L / 2);  // in the tree's leaf order
    static constexpr int count = kHalf == kWholeTree ? L : L / 2;
    static constexpr int levels = log2_of<L>() - (kHalf == kWholeTree ? 0 : 1);
};

template <class T, int JV>
NNDL_INLINE void store_half_sums(const typename Simd<T>::vec (&acc)[JV], T* out) {
    constexpr int L = Simd<T>::lanes;
    NNDL_UNROLL
    for (int v = 0; v < JV; ++v) store(out + v * L, acc[v]);
}

// A narrow tile (JV <= kOneExampleTile), one example at a time, its groups two at a time: leaves t
// and t + 1 of the reduction tree (t even) side by side. Each group's sum is one chain of dependent
// multiply-adds per vector (about 10 entries a group on MNIST at 16 lanes), so a narrow tile alone
// keeps only JV chains in flight; two groups keep twice as many. Each group's chain, and the tree's
// additions after it, are those of sparse_forward_tile's walk one group at a time: the same bits.
// Measured in cache (benchmarks/sparse_in_cache.cpp, AVX-512, one core), the forward product of
// 784-30: m=100 float32 30.0 -> 27.0 us, float64 56.3 -> 50.1; m=10 float64 5.35 -> 4.83, float32
// 2.85 -> 2.54. Four groups at a time, and a loop over G groups written for any G, were slower.
//
// With kHalf 0 or 1 (TreeLeaves), the leaves of one half of the tree only: the groups of the even or
// of the odd inputs, whose sums the tree adds last, as its two subtrees. Their subtree's sum goes to
// `sums` (m rows of ld, no tail, no bias): sparse_inputs.hpp's parity halves run the two halves on
// two threads, each reading only its own half of Wt, and add the two sums (combine_halves).
template <class T, int JV, int kHalf>
NNDL_INLINE void sparse_forward_narrow(const SparseInputRows<T>& rows, int64_t m, int64_t n_in,
                                       const int64_t* slot_first, const T* Wt, int64_t ld, const T* b, int64_t n_out,
                                       int64_t j0, T* Z, T* sums) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    constexpr int kLevels = log2_of<L>();
    // Leaves [t0, t0 + leaves) and the levels of their subtree (a half has 2 leaves at least: L >= 4).
    using Leaves = TreeLeaves<kHalf, L>;
    constexpr int t0 = Leaves::first, leaves = Leaves::count, levels = Leaves::levels;
    static_assert(leaves >= 2, "leaves come in pairs");
    // Zeroed only to say so to the compiler: a level is always stored before it is read. Once, not
    // for each example (a rep stos of 768 bytes an example for 4 float64 vectors).
    vec pending[kLevels][JV] = {};
    for (int64_t i = 0; i < m; ++i) {
        const int64_t* c = rows.count + i * (L + 1);
        with_example_entries(rows, i, n_in, L + 1, slot_first, [&](const auto& entries, const int64_t* first) {
            vec acc[JV];
            for (int t = 0; t < leaves; t += 2) {
                const int g0 = bit_reversed<kLevels>(t0 + t), g1 = bit_reversed<kLevels>(t0 + t + 1);
                vec acc0[JV], acc1[JV];
                NNDL_UNROLL
                for (int v = 0; v < JV; ++v) acc0[v] = acc1[v] = vec{};
                // The longer group walks as "0": its rest is then the only one after the pair's loop.
                // acc0 + acc1 below is acc1 + acc0 bit for bit, so which leaf is which does not matter.
                const bool swap = c[g1] > c[g0];
                const int ga = swap ? g1 : g0, gb = swap ? g0 : g1;
                int64_t e0 = first[ga], e1 = first[gb];
                const int64_t end0 = e0 + c[ga], end1 = e1 + c[gb];
                for (; e1 < end1; ++e0, ++e1) {
                    const vec s0 = splat(entries.x(e0)), s1 = splat(entries.x(e1));
                    const T* w0 = Wt + entries.input(e0) * ld + j0;
                    const T* w1 = Wt + entries.input(e1) * ld + j0;
                    NNDL_UNROLL
                    for (int v = 0; v < JV; ++v) {
                        acc0[v] += s0 * load(w0 + v * L);
                        acc1[v] += s1 * load(w1 + v * L);
                    }
                }
                add_group_entries<T, JV>(acc0, e0, end0, entries, Wt, ld, j0);
                // Leaf t + 1 adds in leaf t (a left child: t is even), then the levels above, as
                // sparse_forward_tile's counter does after leaf t + 1.
                NNDL_UNROLL
                for (int v = 0; v < JV; ++v) acc[v] = acc0[v] + acc1[v];
                int level = 1;
                for (; level < levels && (((t + 1) >> level) & 1); ++level) {
                    NNDL_UNROLL
                    for (int v = 0; v < JV; ++v) acc[v] = pending[level][v] + acc[v];
                }
                if (level < levels) {
                    NNDL_UNROLL
                    for (int v = 0; v < JV; ++v) pending[level][v] = acc[v];
                }
            }
            if constexpr (kHalf != kWholeTree) {
                store_half_sums<T, JV>(acc, sums + i * ld + j0);
            } else {
                // acc is reduce_add's sum. Then the tail inputs, in order, and the bias.
                add_group_entries<T, JV>(acc, first[L], first[L] + c[L], entries, Wt, ld, j0);
                store_tile_outputs<T, JV>(acc, b, n_out, j0, Z + i * n_out);
            }
        });
    }
}

// Z[i][j0 .. j0 + JV*L) for the m examples, a tile wider than kOneExampleTile: the dense product's
// pre-bias sums plus b.
template <class T, int JV, int kHalf>
NNDL_INLINE void sparse_forward_tile(const SparseInputRows<T>& rows, int64_t m, int64_t n_in, const int64_t* slot_first,
                                     const T* Wt, int64_t ld, const T* b, int64_t n_out, int64_t j0, T* Z, T* sums) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    constexpr int kLevels = log2_of<L>();
    using Leaves = TreeLeaves<kHalf, L>;
    constexpr int t0 = Leaves::first, leaves = Leaves::count, levels = Leaves::levels;
    constexpr int kStackLevels = kLevels > 0 ? kLevels : 1;
    constexpr int64_t kBlock = kSparseForwardStack / static_cast<int64_t>(sizeof(vec) * JV * kStackLevels);
    static_assert(kBlock >= 1, "the stack of pending sums holds at least one example");
    vec stack[kBlock][kStackLevels][JV];
    for (int64_t block = 0; block < m; block += kBlock) {
        const int64_t block_end = m - block < kBlock ? m : block + kBlock;
        for (int t = 0; t < leaves; ++t) {
            const int g = bit_reversed<kLevels>(t0 + t);
            for (int64_t i = block; i < block_end; ++i) {
                const int64_t* c = rows.count + i * (L + 1);
                with_example_entries(rows, i, n_in, L + 1, slot_first, [&](const auto& entries, const int64_t* first) {
                    vec acc[JV];
                    NNDL_UNROLL
                    for (int v = 0; v < JV; ++v) acc[v] = vec{};
                    add_group_entries<T, JV>(acc, first[g], first[g] + c[g], entries, Wt, ld, j0);
                    vec(&pending)[kStackLevels][JV] = stack[i - block];
                    int level = 0;
                    for (; level < levels && ((t >> level) & 1); ++level) {
                        NNDL_UNROLL
                        for (int v = 0; v < JV; ++v) acc[v] = pending[level][v] + acc[v];
                    }
                    if (level < levels) {
                        NNDL_UNROLL
                        for (int v = 0; v < JV; ++v) pending[level][v] = acc[v];
                        return;
                    }
                    if constexpr (kHalf != kWholeTree) {
                        store_half_sums<T, JV>(acc, sums + i * ld + j0);
                    } else {
                        // The last leaf: acc is reduce_add's sum. Then the tail inputs, in order, and the bias.
                        add_group_entries<T, JV>(acc, first[L], first[L] + c[L], entries, Wt, ld, j0);
                        store_tile_outputs<T, JV>(acc, b, n_out, j0, Z + i * n_out);
                    }
                });
            }
        }
    }
}

template <int N>
struct TileWidth {
    static constexpr int value = N;
};

// The update's tiles: of kSparseTile vectors along the outputs, then of 4, 2 and 1. Each output's
// sum is the same whatever tile it falls in, and four tile widths (rather than one per remainder)
// keep the number of instantiations of the update's eight rules, and the build under the sanitizers,
// small. (The width 2 is for the narrow layers: 30 float32 outputs on AVX-512 are two vectors, which
// in tiles of 1 made the update walk each row twice.) Exact widths, as the forward product has, made
// the update 2-13% faster in cache (784-100 float32 m=100 61 -> 56 us, m=10 15 -> 13 us) but the
// AVX-512 kernels' compile 24 -> 62 s, and 2 min 40 s -> 6 min 46 s under the sanitizers: not taken.

template <class Tile>
NNDL_INLINE void for_each_output_tile(int64_t vectors, Tile tile) {
    int64_t v0 = 0;
    for (; v0 + kSparseTile <= vectors; v0 += kSparseTile) tile(TileWidth<kSparseTile>{}, v0);
    for (; v0 + 4 <= vectors; v0 += 4) tile(TileWidth<4>{}, v0);
    for (; v0 + 2 <= vectors; v0 += 2) tile(TileWidth<2>{}, v0);
    for (; v0 < vectors; ++v0) tile(TileWidth<1>{}, v0);
}

// The forward product's tiles: of kSparseTile vectors, then one of exactly the vectors left, so that
// a narrow layer's every output is in one walk over the nonzeros (784-100 float32: one tile of 7
// vectors, not tiles of 4, 2 and 1) and its chains of additions are as many as its vectors (in cache,
// 784-100 float32 m=100: 112 -> 86 us, before the groups went outermost).
template <int N, class Tile>
NNDL_INLINE void exact_tile(int64_t rest, int64_t v0, Tile& tile) {
    if constexpr (N >= 1) {
        if (rest == N) return tile(TileWidth<N>{}, v0);
        exact_tile<N - 1>(rest, v0, tile);
    }
}
template <class Tile>
NNDL_INLINE void for_each_exact_tile(int64_t vectors, Tile tile) {
    int64_t v0 = 0;
    for (; v0 + kSparseTile <= vectors; v0 += kSparseTile) tile(TileWidth<kSparseTile>{}, v0);
    exact_tile<kSparseTile - 1>(vectors - v0, v0, tile);
}

// Z[i][j] = b[j] + sum over the nonzeros (k, x) of example i of x * Wt[k][j], for the m examples
// gathered by gather_nonzeros. Tiles outermost: the examples of the mini-batch then share one slab
// of Wt (n_in x one tile: 196 KB for float32 at 8 vectors of AVX2) in L2, instead of each example
// streaming all of Wt from L3 when the layer is wide.
template <class T, int kHalf>
void sparse_forward_leaves(const SparseInputRows<T>& rows, int64_t m, int64_t n_in, const T* Wt, int64_t ld, const T* b,
                           int64_t n_out, T* Z, T* sums) {
    constexpr int L = Simd<T>::lanes;
    // Where each group starts in an example's slots (gather_nonzeros): g * cap, the tail at cap * L.
    int64_t slot_first[L + 1];
    for (int g = 0; g <= L; ++g) slot_first[g] = g * (n_in / L);
    for_each_exact_tile(ld / L, [&](auto width, int64_t v0) {
        constexpr int JV = decltype(width)::value;
        if constexpr (JV <= kOneExampleTile)
            sparse_forward_narrow<T, JV, kHalf>(rows, m, n_in, slot_first, Wt, ld, b, n_out, v0 * L, Z, sums);
        else
            sparse_forward_tile<T, JV, kHalf>(rows, m, n_in, slot_first, Wt, ld, b, n_out, v0 * L, Z, sums);
    });
}
template <class T>
void sparse_forward(const SparseInputRows<T>& rows, int64_t m, int64_t n_in, const T* Wt, int64_t ld, const T* b,
                    int64_t n_out, T* Z) {
    sparse_forward_leaves<T, kWholeTree>(rows, m, n_in, Wt, ld, b, n_out, Z, nullptr);
}
// One half of the tree (TreeLeaves) for the m examples: sums[i * ld + j] for every j < ld.
template <class T>
void sparse_forward_half(const SparseInputRows<T>& rows, int64_t m, int64_t n_in, const T* Wt, int64_t ld, int half,
                         T* sums) {
    if constexpr (Simd<T>::lanes >= 4) {
        if (half == 0) return sparse_forward_leaves<T, 0>(rows, m, n_in, Wt, ld, nullptr, 0, nullptr, sums);
        sparse_forward_leaves<T, 1>(rows, m, n_in, Wt, ld, nullptr, 0, nullptr, sums);
    }
}

// One entry (example i, value x) of a row into its gradient tile: acc[v] += x * delta[i][j0 + v*L ...].
template <class T, int JV>
NNDL_INLINE void add_entry(typename Simd<T>::vec (&acc)[JV], int64_t i, T x, const T* delta_pad, int64_t ld,
                           int64_t j0) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    const vec s = splat(x);
    const T* d = delta_pad + i * ld + j0;
    NNDL_UNROLL
    for (int v = 0; v < JV; ++v) acc[v] += s * load(d + v * L);  // x*delta, as the dense tile's delta*x
}

// The two forms of a mini-batch's nonzeros by row (kernel_table.hpp's SparseRowEntries), each giving
// row(k), whose entries each(row, f) passes to f(example, value) in example order. Passed by value:
// a few pointers, which stay in registers.
//
// The counting sort's runs: row k's count[k] entries from k * stride.
template <class T>
struct RunEntries {
    const int64_t* count;
    int64_t stride;
    const int32_t* example;
    const T* value;
    static constexpr bool kPairs = true;  // sparse_update_pair walks two rows' runs side by side
    struct Row {
        int64_t first, end;
        bool empty() const { return first == end; }
    };
    NNDL_INLINE Row row(int64_t k) const { return {k * stride, k * stride + count[k]}; }
    template <class F>
    NNDL_INLINE void each(Row r, F f) const {
        for (int64_t e = r.first; e < r.end; ++e) f(static_cast<int64_t>(example[e]), value[e]);
    }
    template <class F>
    NNDL_INLINE void each_in_pairs(Row r, F f) const {
        each(r, f);
    }
};

// The bits of the 16 bytes at p that are not zero.
NNDL_INLINE unsigned nonzero_bytes(const uint8_t* p) {
#if defined(__SSE2__)
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return ~static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_setzero_si128()))) & 0xffffu;
#else
    unsigned bits = 0;
    for (int i = 0; i < 16; ++i) bits |= static_cast<unsigned>(p[i] != 0) << i;
    return bits;
#endif
}

// The pixel codes: row k's byte i is example i's code (0: no entry), its value decoded[code]. A row's
// entries are the set bits of one compare, walked lowest first.
//
// each_in_pairs walks them two at a time, for rows of one tile of at most 2 vectors, where an entry
// is a multiply-add or two: a row's loop mostly ends where the branch predictor did not expect, and
// in pairs it takes half the turns, with half as many lengths. A row with an odd number of entries
// adds a last entry of example 15 with code 0 (value 0): in a mini-batch of at most 15 examples byte
// 15 of every row is 0, and delta_pad's row 15 is finite (kernel_table.hpp), so the entry adds 0 *
// delta, +0 or -0, to a sum that is never -0: the same bits. Mini-batches of 16 walk one entry at a
// time. In cache (benchmarks/sparse_in_cache.cpp, AVX-512, a new mini-batch each call, 3 runs),
// placing the codes and the update of 784-30 m=10 float32 (2 vectors a row) 6.13-6.18 -> 5.57-5.62
// us; one core, epochs after the first of 3-epoch calls, 12 alternating rounds, the book's float32
// row median 0.0547 -> 0.0535 s. Rows of 4 vectors, in pairs too, gained less in cache (float64 7.2
// -> 6.8 us) and nothing beyond noise in training (0.0704 -> 0.0698 s); with AVX2's 8-lane float32 (4
// vectors) the update was slower (6.6 -> 7.5 us): each padded entry costs a multiply-add a vector.
template <class T>
struct CodedEntries {
    static_assert(kCodedRowBytes == 16, "nonzero_bytes compares 16 bytes");
    const uint8_t* codes;
    const T* decoded;
    bool pairs;                            // the mini-batch has at most 15 examples: byte 15 of every row is 0
    static constexpr bool kPairs = false;  // at most 16 examples: rows are never paired (kPairedMiniBatch)
    struct Row {
        const uint8_t* codes;
        unsigned examples;
        bool empty() const { return examples == 0; }
    };
    NNDL_INLINE Row row(int64_t k) const {
        const uint8_t* at = codes + k * kCodedRowBytes;
        return {at, nonzero_bytes(at)};
    }
    template <class F>
    NNDL_INLINE void each(Row r, F f) const {
        for (unsigned left = r.examples; left != 0; left &= left - 1) {
            const int i = __builtin_ctz(left);
            f(static_cast<int64_t>(i), decoded[r.codes[i]]);
        }
    }
    template <class F>
    NNDL_INLINE void each_in_pairs(Row r, F f) const {
        if (!pairs) return each(r, f);  // the same every row of the call: predicted
        constexpr unsigned kPadding = 1u << (kCodedRowBytes - 1);
        for (unsigned left = r.examples; left != 0;) {
            const int i = __builtin_ctz(left);
            left &= left - 1;
            const int j = __builtin_ctz(left | kPadding);  // 15: no second entry, code 0
            left &= left - 1;
            f(static_cast<int64_t>(i), decoded[r.codes[i]]);
            f(static_cast<int64_t>(j), decoded[r.codes[j]]);
        }
    }
};

// Row k's weights j0 .. j0 + JV*L updated from their summed gradients acc; returns sum |w_new - w_old|.
// kGradient false: the gradients are 0 and acc is not read (updated_weight).
template <class T, bool kSubgradient, bool kMomentum, Post kPost, int JV, bool kGradient = true>
NNDL_INLINE typename Simd<T>::vec update_row_tile(const typename Simd<T>::vec (&acc)[JV], int64_t ld, int64_t k,
                                                  int64_t j0, T* Wt, T* vw, T* qw,
                                                  const UpdateConstants<typename Simd<T>::vec>& c) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    vec change{};
    with_shrink<kMomentum>(c, [&](auto shrink) {
        NNDL_UNROLL
        for (int v = 0; v < JV; ++v) {
            const int64_t at = k * ld + j0 + v * L;
            const vec old = load(Wt + at);
            const vec now = updated_weight<kSubgradient, kMomentum, kPost, T, vec, decltype(shrink)::value, kGradient>(
                old, acc[v], c, kMomentum ? vw + at : nullptr, kPost == Post::cumulative ? qw + at : nullptr);
            store(Wt + at, now);
            change += abs_of(now - old);
        }
    });
    return change;
}

// Row k's weights j0 .. j0 + JV*L when its input is zero in every example of the mini-batch: no
// gradient, only the penalty, the same bits as update_row_tile with a zero gradient; no change is
// recorded (sparse_update's every_row). Rules without momentum only (bounded_without_gradient).
template <class T, bool kSubgradient, Post kPost, int JV>
NNDL_INLINE void update_row_without_entries(int64_t ld, int64_t k, int64_t j0, T* Wt, T* qw,
                                            const UpdateConstants<typename Simd<T>::vec>& c) {
    const typename Simd<T>::vec no_gradient[JV] = {};
    // The change it returns is left unused, so the compiler drops its three instructions a vector.
    update_row_tile<T, kSubgradient, false, kPost, JV, false>(no_gradient, ld, k, j0, Wt, nullptr, qw, c);
}

// Calls update_row_without_entries for row k and returns true, if `skip_empty` and the row has no
// entries (`empty`); otherwise false, and the caller updates the row with its gradient. kOneTile: the
// row is one tile of that many vectors; 0: it is walked in tiles (for_each_output_tile).
template <class T, bool kSubgradient, bool kMomentum, Post kPost, int kOneTile>
NNDL_INLINE bool updated_without_entries(bool skip_empty, bool empty, int64_t ld, int64_t k, T* Wt, T* qw,
                                         const UpdateConstants<typename Simd<T>::vec>& c) {
    if constexpr (kMomentum) {
        return false;
    } else {
        if (!skip_empty || !empty) return false;
        if constexpr (kOneTile > 0) {
            update_row_without_entries<T, kSubgradient, kPost, kOneTile>(ld, k, 0, Wt, qw, c);
        } else {
            constexpr int L = Simd<T>::lanes;
            for_each_output_tile(ld / L, [&](auto width, int64_t v0) {
                update_row_without_entries<T, kSubgradient, kPost, decltype(width)::value>(ld, k, v0 * L, Wt, qw, c);
            });
        }
        return true;
    }
}

// kInPairs: the row is this one tile (no other tile walks its entries), and its entries go two at a
// time where the form allows (CodedEntries::each_in_pairs).
template <class T, bool kSubgradient, bool kMomentum, Post kPost, int JV, class Entries, bool kInPairs = false>
NNDL_INLINE typename Simd<T>::vec sparse_update_tile(Entries entries, typename Entries::Row row, const T* delta_pad,
                                                     int64_t ld, int64_t k, int64_t j0, T* Wt, T* vw, T* qw,
                                                     const UpdateConstants<typename Simd<T>::vec>& c) {
    using vec = typename Simd<T>::vec;
    vec acc[JV];
    NNDL_UNROLL
    for (int v = 0; v < JV; ++v) acc[v] = vec{};
    auto add = [&](int64_t i, T x) { add_entry<T, JV>(acc, i, x, delta_pad, ld, j0); };
    if constexpr (kInPairs)
        entries.each_in_pairs(row, add);
    else
        entries.each(row, add);
    return update_row_tile<T, kSubgradient, kMomentum, kPost, JV>(acc, ld, k, j0, Wt, vw, qw, c);
}

// Rows k and k + next at once: each row's gradient is one chain of dependent multiply-adds per vector,
// over its entries in example order (at mini-batch 100 about 19 entries a row on MNIST, 4 cycles
// each), and two rows walked side by side keep twice the chains in flight. The chains themselves, and
// every bit, are those of two calls of sparse_update_tile.
template <class T, bool kSubgradient, bool kMomentum, Post kPost, int JV>
NNDL_INLINE void sparse_update_pair(RunEntries<T> entries, const T* delta_pad, int64_t ld, int64_t k, int64_t next,
                                    int64_t j0, T* Wt, T* vw, T* qw, const UpdateConstants<typename Simd<T>::vec>& c,
                                    typename Simd<T>::vec (&row_change)[2]) {
    using vec = typename Simd<T>::vec;
    vec acc[2][JV];
    NNDL_UNROLL
    for (int r = 0; r < 2; ++r) {
        NNDL_UNROLL
        for (int v = 0; v < JV; ++v) acc[r][v] = vec{};
    }
    const int64_t first[2] = {k * entries.stride, (k + next) * entries.stride};
    const int64_t n[2] = {entries.count[k], entries.count[k + next]};
    const int64_t both = n[0] < n[1] ? n[0] : n[1];
    auto add = [&](int r, int64_t e) {
        add_entry<T, JV>(acc[r], entries.example[e], entries.value[e], delta_pad, ld, j0);
    };
    for (int64_t t = 0; t < both; ++t) {
        add(0, first[0] + t);
        add(1, first[1] + t);
    }
    NNDL_UNROLL
    for (int r = 0; r < 2; ++r)
        for (int64_t t = both; t < n[r]; ++t) add(r, first[r] + t);
    NNDL_UNROLL
    for (int r = 0; r < 2; ++r)
        row_change[r] +=
            update_row_tile<T, kSubgradient, kMomentum, kPost, JV>(acc[r], ld, k + r * next, j0, Wt, vw, qw, c);
}

// From this mini-batch size on, with 32 vector registers, rows go in pairs (sparse_update_pair),
// except in tiles of 2 vectors. Measured with benchmarks/sparse_in_cache.cpp (best of 5 runs), the
// update step at m=100 on AVX-512: 784-500 float32 333 -> 293 us, float64 617 -> 529 us, 784-100
// float64 127 -> 108 us, float32 56 -> 55 us. Slower, so not taken: at m=10, where a row has one or
// two entries (3-25%: the two rows' different lengths cost more than the chains save); tiles of 2
// float32 vectors at m=100 (784-30: 21.3 -> 23.8 us); and with 16 registers (AVX2 at m=100: 784-30
// float64 28 -> 39 us, 784-100 float32 71 -> 85 us: two rows' accumulators do not fit). The choice
// changes no bit, of the weights or of the change record.
constexpr int64_t kPairedMiniBatch = 32;
static_assert(kCodedRowBytes < kPairedMiniBatch, "coded rows are never paired");

// Whether a row of one tile of JV vectors takes its entries two at a time (CodedEntries::each_in_pairs).
template <int JV>
constexpr bool kEntriesInPairs = JV <= 2;

// Whether rows of `vectors` vectors go in pairs (sparse_update_pair): runs of a large mini-batch, rows
// of other than 2 vectors (2 vectors: one tile, unpaired). Pixel codes never are.
template <class Entries>
bool rows_in_pairs(const Entries& entries, int64_t vectors) {
    if constexpr (Entries::kPairs)
        return entries.stride >= kPairedMiniBatch && vectors != 2;
    else
        return false;
}

// Rows [k, k_end) of a block, each walked in tiles (for_each_output_tile), their change summed in
// row order (sparse_update_rows). Out of line: inline, this loop's code (the walk, and the test for
// rows without entries) changed the registers GCC gave the loops of one tile beside it, and the book's
// 784-30-10 float32 m=10, whose rows are one tile, took 2-4% longer an epoch on AVX2 (0.0825-0.0841
// -> 0.0858-0.0864 s) where it now gains. The copy of the constants below took 784-500-10 float32
// m=10 from 0.777-0.783 to 0.677-0.689 s (0.735-0.762 before rows without entries were skipped).
template <class T, bool kSubgradient, bool kMomentum, Post kPost, class Entries>
__attribute__((noinline)) typename Simd<T>::vec rows_in_tiles(Entries entries, const T* delta_pad, int64_t k,
                                                              int64_t k_end, int64_t ld, T* Wt, T* vw, T* qw,
                                                              const UpdateConstants<typename Simd<T>::vec>& constants,
                                                              bool skip_empty) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    // A copy of its own: the caller's could be aliased by the stores to Wt (the same element type), so
    // every constant would be loaded again after each store.
    const UpdateConstants<vec> c = constants;
    vec sum{};
    for (; k < k_end; ++k) {
        const auto row = entries.row(k);
        if (updated_without_entries<T, kSubgradient, kMomentum, kPost, 0>(skip_empty, row.empty(), ld, k, Wt, qw, c))
            continue;
        vec row_change{};
        for_each_output_tile(ld / L, [&](auto width, int64_t v0) {
            row_change += sparse_update_tile<T, kSubgradient, kMomentum, kPost, decltype(width)::value>(
                entries, row, delta_pad, ld, k, v0 * L, Wt, vw, qw, c);
        });
        sum += row_change;
    }
    return sum;
}

// Rows [k_begin, k_end) of Wt: each weight's gradient, summed over the examples whose input k is
// nonzero (entries: the mini-batch's nonzeros by input, RunEntries or CodedEntries, each row's in
// example order), and its regularized update, the rows whose input is
// zero in every example included (their gradient is 0; the penalty still applies). delta_pad is
// (m, ld), zero-padded. change[k / kChangeBlock] = sum |w_new - w_old| over that block's rows
// (k_begin on a block boundary), or with skip_empty over its rows with entries.
//
// skip_empty (sparse_update's every_row false, a rule bounded_without_gradient): a row whose input is
// zero in every example (402 of 784 at the book's m=10 on MNIST, 268 at m=100) is updated without its
// gradient's multiply-add and without the change record's three instructions a vector, since its
// weights cannot turn non-finite and the caller asks only whether the record is finite. The same
// weights, bit for bit. Rows in pairs (32 registers, m >= 32) record every row. Measured on AVX2, one
// core, epochs of 3-epoch calls after the first, the old and new builds alternating (3 rounds, best
// and worst): 784-30-10 m=10 float64 0.119-0.121 -> 0.112-0.115 s, float32 0.084-0.093 -> 0.082 s;
// 784-100-10 float64 m=10 0.307-0.318 -> 0.279-0.290 s; 784-500-10 float32 m=10 0.762-0.778 ->
// 0.696-0.709 s; 784-30-30-30-10 float32 m=10 and 784-100-10 float32 m=100 (fewer rows without
// entries) unchanged.
template <class T, bool kSubgradient, bool kMomentum, Post kPost, class Entries>
void sparse_update_rows(Entries entries, const T* delta_pad, int64_t k_begin, int64_t k_end, int64_t ld, T* Wt,
                        const UpdateStep<T>& s, T* vw, T* qw, double* change, bool skip_empty) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    const UpdateConstants<vec> c = constants_of<T, vec>(s);
    const bool paired = rows_in_pairs(entries, ld / L);
    for (int64_t block = k_begin; block < k_end; block += kChangeBlock) {
        const int64_t block_end = k_end - block < kChangeBlock ? k_end : block + kChangeBlock;
        // Each row's change is summed over its tiles first, then the rows in order: the same sums
        // whether rows go in pairs or one by one.
        vec sum{};
        int64_t k = block;
        if constexpr (kRegs >= 32 && Entries::kPairs) {
            // Pairs of rows of one tile of 4 vectors (784-30 float64) without the walk over tile
            // widths, as rows_of_one_tile below does for single rows.
            if (paired && ld == 4 * L)
                for (; k + 2 <= block_end; k += 2) {
                    vec row_change[2] = {vec{}, vec{}};
                    sparse_update_pair<T, kSubgradient, kMomentum, kPost, 4>(entries, delta_pad, ld, k, 1, 0, Wt, vw,
                                                                             qw, c, row_change);
                    sum += row_change[0];
                    sum += row_change[1];
                }
            for (; paired && k + 2 <= block_end; k += 2) {
                vec row_change[2] = {vec{}, vec{}};
                for_each_output_tile(ld / L, [&](auto width, int64_t v0) {
                    constexpr int JV = decltype(width)::value;
                    if constexpr (JV != 2) {
                        sparse_update_pair<T, kSubgradient, kMomentum, kPost, JV>(entries, delta_pad, ld, k, 1, v0 * L,
                                                                                  Wt, vw, qw, c, row_change);
                    } else {
                        NNDL_UNROLL
                        for (int r = 0; r < 2; ++r)
                            row_change[r] += sparse_update_tile<T, kSubgradient, kMomentum, kPost, JV>(
                                entries, entries.row(k + r), delta_pad, ld, k + r, v0 * L, Wt, vw, qw, c);
                    }
                });
                sum += row_change[0];
                sum += row_change[1];
            }
        }
        // A row of one tile (the narrow layers: 784-30 is 4 float64 vectors, 2 float32) in a loop
        // of its own, without the walk over tile widths, whose branches and loop tests are many
        // instructions per row for a row of little arithmetic at mini-batch 10. Its change is the
        // tile's (0 + x is x: a sum of absolute values is never -0), so the bits are the general
        // loop's. In cache (benchmarks/sparse_in_cache.cpp, 3 runs each), 784-30: m=10 float32
        // 4.7 -> 3.8 us, float64 7.2 -> 6.2; m=100 float32 16.8 -> 15.5, float64 (in pairs) 38.5 -> 34.6.
        //
        // Each row's entries are looked up a row ahead, within the block (whose rows are this thread's
        // alone): a row's loop over its entries mostly ends where the branch predictor did not expect,
        // and what comes after the mispredicted end waits for what it depends on. With the pixel codes,
        // the next row's entries (a 16-byte compare) are then already known. Epochs of
        // 784-30-10 float64 m=10 on AVX2, one core, 6 alternating rounds: codes looked up in their row
        // 0.1166-0.1202 s, a row ahead 0.1066-0.1094 s; the runs 0.1130-0.1149 s either way.
        auto rows_of_one_tile = [&](auto width) {
            if (k >= block_end) return;
            auto row = entries.row(k);
            for (; k < block_end; ++k) {
                const auto next = entries.row(k + 1 < block_end ? k + 1 : k);
                constexpr int JV = decltype(width)::value;
                if (!updated_without_entries<T, kSubgradient, kMomentum, kPost, JV>(skip_empty, row.empty(), ld, k, Wt,
                                                                                    qw, c))
                    sum += sparse_update_tile<T, kSubgradient, kMomentum, kPost, JV, Entries, kEntriesInPairs<JV>>(
                        entries, row, delta_pad, ld, k, 0, Wt, vw, qw, c);
                row = next;
            }
        };
        // And a row of one whole tile of kSparseTile vectors: the book's 30 float64 units on AVX2 (8
        // vectors), where the walk kept each row's change on the stack between tiles. Epochs of
        // 784-30-10 float64 m=10 on AVX2, one core, 4 alternating rounds: 0.139-0.143 -> 0.134-0.136 s.
        if (ld == 4 * L)
            rows_of_one_tile(TileWidth<4>{});
        else if (ld == 2 * L)
            rows_of_one_tile(TileWidth<2>{});
        else if (ld == kSparseTile * L)
            rows_of_one_tile(TileWidth<kSparseTile>{});
        if (k < block_end)
            sum += rows_in_tiles<T, kSubgradient, kMomentum, kPost>(entries, delta_pad, k, block_end, ld, Wt, vw, qw, c,
                                                                    skip_empty);
        change[block / kChangeBlock] = static_cast<double>(reduce_add(sum));
    }
}

// Wt in parity halves (sparse_inputs.hpp), the second from row `second`: rows [k_begin, k_end) of the
// first half and the same rows of the second, taken in turns (k, k + second, k + 1, ...: input order),
// each half's blocks summed on their own, as when each half is updated alone
// (sparse_update_rows). One half after the other, rows of inputs two apart followed one another, and
// the loop over a row's entries ended where the branch predictor guessed less often right: in cache,
// 784-30 float32 m=10 with a new mini-batch each call, 7.4 -> 8.3 us, against 8.1 in turns.
template <class T, bool kSubgradient, bool kMomentum, Post kPost, class Entries>
void sparse_update_halves(Entries entries, const T* delta_pad, int64_t k_begin, int64_t k_end, int64_t second,
                          int64_t ld, T* Wt, const UpdateStep<T>& s, T* vw, T* qw, double* change, bool skip_empty) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    const UpdateConstants<vec> c = constants_of<T, vec>(s);
    const bool paired = rows_in_pairs(entries, ld / L);
    // Rows k and k + second side by side (with 32 registers), each's change summed over its tiles.
    auto pair = [&](int64_t k, vec(&row_change)[2]) {
        if constexpr (Entries::kPairs) {
            if (ld == 4 * L)  // rows of one tile of 4 vectors (784-30 float64) without the walk over widths
                return sparse_update_pair<T, kSubgradient, kMomentum, kPost, 4>(entries, delta_pad, ld, k, second, 0,
                                                                                Wt, vw, qw, c, row_change);
            for_each_output_tile(ld / L, [&](auto width, int64_t v0) {
                constexpr int JV = decltype(width)::value;
                if constexpr (JV != 2) {
                    sparse_update_pair<T, kSubgradient, kMomentum, kPost, JV>(entries, delta_pad, ld, k, second, v0 * L,
                                                                              Wt, vw, qw, c, row_change);
                } else {
                    NNDL_UNROLL
                    for (int r = 0; r < 2; ++r)
                        row_change[r] += sparse_update_tile<T, kSubgradient, kMomentum, kPost, JV>(
                            entries, entries.row(k + r * second), delta_pad, ld, k + r * second, v0 * L, Wt, vw, qw, c);
                }
            });
        }
    };
    // The blocks, each row's change from row(k), chosen once per call (below: chosen per row, it made
    // the update twice as slow).
    auto blocks = [&](auto row) {
        for (int64_t block = k_begin; block < k_end; block += kChangeBlock) {
            const int64_t block_end = k_end - block < kChangeBlock ? k_end : block + kChangeBlock;
            vec sum{}, second_sum{};
            for (int64_t k = block; k < block_end; ++k) {
                if (kRegs >= 32 && paired) {
                    vec row_change[2] = {vec{}, vec{}};
                    pair(k, row_change);
                    sum += row_change[0];
                    second_sum += row_change[1];
                } else {
                    sum += row(k);
                    second_sum += row(k + second);
                }
            }
            change[block / kChangeBlock] = static_cast<double>(reduce_add(sum));
            change[(block + second) / kChangeBlock] = static_cast<double>(reduce_add(second_sum));
        }
    };
    // Rows of one tile without the walk over tile widths, as in sparse_update_rows. A row without
    // entries adds 0 to its block's change when skip_empty (exact: the sum is never -0).
    auto one_tile = [&](auto width) {
        constexpr int JV = decltype(width)::value;
        blocks([&](int64_t k) {
            const auto row = entries.row(k);
            if (updated_without_entries<T, kSubgradient, kMomentum, kPost, JV>(skip_empty, row.empty(), ld, k, Wt, qw,
                                                                               c))
                return vec{};
            return sparse_update_tile<T, kSubgradient, kMomentum, kPost, JV, Entries, kEntriesInPairs<JV>>(
                entries, row, delta_pad, ld, k, 0, Wt, vw, qw, c);
        });
    };
    if (ld == 4 * L) return one_tile(TileWidth<4>{});
    if (ld == 2 * L) return one_tile(TileWidth<2>{});
    if (ld == kSparseTile * L) return one_tile(TileWidth<kSparseTile>{});
    blocks([&](int64_t k) {
        vec row_change{};
        const auto row = entries.row(k);
        if (updated_without_entries<T, kSubgradient, kMomentum, kPost, 0>(skip_empty, row.empty(), ld, k, Wt, qw, c))
            return row_change;
        for_each_output_tile(ld / L, [&](auto width, int64_t v0) {
            row_change += sparse_update_tile<T, kSubgradient, kMomentum, kPost, decltype(width)::value>(
                entries, row, delta_pad, ld, k, v0 * L, Wt, vw, qw, c);
        });
        return row_change;
    });
}

template <class T, bool kSubgradient, bool kMomentum, Post kPost>
void sparse_update_rule(const SparseRowEntries<T>& entries, const T* delta_pad, int64_t k_begin, int64_t k_end,
                        int64_t second, int64_t ld, T* Wt, const UpdateStep<T>& s, T* vw, T* qw, double* change,
                        bool every_row) {
    const bool skip_empty = !every_row && s.bounded_without_gradient();
    auto run = [&](auto source) {
        if (second > 0)
            return sparse_update_halves<T, kSubgradient, kMomentum, kPost>(source, delta_pad, k_begin, k_end, second,
                                                                           ld, Wt, s, vw, qw, change, skip_empty);
        sparse_update_rows<T, kSubgradient, kMomentum, kPost>(source, delta_pad, k_begin, k_end, ld, Wt, s, vw, qw,
                                                              change, skip_empty);
    };
    if (entries.codes) return run(CodedEntries<T>{entries.codes, entries.decoded, entries.examples < kCodedRowBytes});
    run(RunEntries<T>{entries.count, entries.stride, entries.example, entries.value});
}

template <class T>
void sparse_update(const SparseRowEntries<T>& entries, const T* delta_pad, int64_t k_begin, int64_t k_end,
                   int64_t second, int64_t ld, T* Wt, const UpdateStep<T>& s, T* vw, T* qw, double* change,
                   bool every_row) {
    const bool proximal = s.has_l1 && s.l1_method == L1Method::proximal;
    const bool cumulative = s.has_l1 && s.l1_method == L1Method::cumulative;
    const bool subgradient = s.has_l1 && s.l1_method == L1Method::subgradient;
    auto run = [&](auto kernel) {
        kernel(entries, delta_pad, k_begin, k_end, second, ld, Wt, s, vw, qw, change, every_row);
    };
    if (s.has_momentum) {
        if (proximal) return run(sparse_update_rule<T, false, true, Post::proximal>);
        if (cumulative) return run(sparse_update_rule<T, false, true, Post::cumulative>);
        if (subgradient) return run(sparse_update_rule<T, true, true, Post::none>);
        return run(sparse_update_rule<T, false, true, Post::none>);
    }
    if (proximal) return run(sparse_update_rule<T, false, false, Post::proximal>);
    if (cumulative) return run(sparse_update_rule<T, false, false, Post::cumulative>);
    if (subgradient) return run(sparse_update_rule<T, true, false, Post::none>);
    return run(sparse_update_rule<T, false, false, Post::none>);
}

// Biases [j_begin, j_end) of a layer whose weights another kernel updates (the sparse first layer),
// from delta's m rows of stride ld: the same step as the dense fused update's. bias_change[j] = b_new -
// b_new (non-finite exactly when b is).
template <class T>
void bias_update(const T* delta, int64_t m, int64_t ld, int64_t j_begin, int64_t j_end, T* b, const UpdateStep<T>& s,
                 T* vb, double* bias_change) {
    auto record = [&](int64_t j, T bias) { bias_change[j] = static_cast<double>(bias - bias); };
    if (s.has_momentum)
        update_biases<T, true>(delta, m, ld, j_begin, j_end, b, s, vb, record);
    else
        update_biases<T, false>(delta, m, ld, j_begin, j_end, b, s, vb, record);
}

// ---- the check of a mini-batch's inputs for NaN and infinity ----
//
// x - x is 0 for every finite x and NaN for a NaN or an infinity, and a NaN stays in a running sum,
// so one sum per row tells. Run on the rows just before the forward pass reads them, it costs a few
// hundred cycles per mini-batch instead of a separate pass over the whole training set.
template <class T>
int64_t first_nonfinite_row(const T* const* rows, int64_t m, int64_t width) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    for (int64_t i = 0; i < m; ++i) {
        const T* x = rows[i];
        vec acc0{}, acc1{};
        int64_t k = 0;
        for (; k + 2 * L <= width; k += 2 * L) {
            const vec a = load(x + k), b = load(x + k + L);
            acc0 += a - a;
            acc1 += b - b;
        }
        for (; k + L <= width; k += L) {
            const vec a = load(x + k);
            acc0 += a - a;
        }
        T tail = 0;
        for (; k < width; ++k) tail += x[k] - x[k];
        if (!(reduce_add(acc0 + acc1) + tail == T(0))) return i;
    }
    return -1;
}

// ---- sigmoid with a vector exp ----
//
// exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two so r is exact to
// ~1e-20), |r| <= ln2/2; exp(r) by its Taylor polynomial to the degree whose remainder is below
// half an ulp (13 for double, 7 for float), then 2^n built in the exponent bits, in two factors so
// that subnormal results come out right. Within about 1 ulp of the C library's exp; the same
// clamps (inf above the overflow point, 0 below the underflow point, NaN through).

template <class T>
struct ExpConstants;
template <>
struct ExpConstants<double> {
    static constexpr double log2e = 1.4426950408889634074;
    static constexpr double ln2_hi = 6.93147180369123816490e-01;
    static constexpr double ln2_lo = 1.90821492927058770002e-10;
    static constexpr double round_magic = 0x1.8p52;  // adding it rounds to an integer
    static constexpr double overflow = 709.782712893384;
    static constexpr double underflow = -745.1332191019412;
    static constexpr int degree = 13;
    static constexpr int mantissa_bits = 52, bias = 1023;
};
template <>
struct ExpConstants<float> {
    static constexpr float log2e = 1.44269504088896341f;
    static constexpr float ln2_hi = 0.693145751953125f;
    static constexpr float ln2_lo = 1.428606765330187045e-06f;
    static constexpr float round_magic = 0x1.8p23f;
    static constexpr float overflow = 88.72283905206835f;
    static constexpr float underflow = -103.97208f;
    static constexpr int degree = 7;
    static constexpr int mantissa_bits = 23, bias = 127;
};

template <class T>
NNDL_INLINE typename Simd<T>::vec exp_of(typename Simd<T>::vec x) {
    using vec = typename Simd<T>::vec;
    using ivec = typename Simd<T>::ivec;
    using E = ExpConstants<T>;
    // Clamp first so n stays small (the clamped lanes are replaced at the end).
    const vec xc = select(x > splat<T>(E::overflow), splat<T>(E::overflow),
                          select(x < splat<T>(E::underflow), splat<T>(E::underflow), x));
    const vec magic = splat<T>(E::round_magic);
    const vec n = (xc * splat<T>(E::log2e) + magic) - magic;  // rounded to an integer
    const vec r = (xc - n * splat<T>(E::ln2_hi)) - n * splat<T>(E::ln2_lo);
    // Horner from the highest Taylor coefficient 1/degree! down to 1.
    T coefficient[E::degree + 1];
    coefficient[0] = 1;
    for (int d = 1; d <= E::degree; ++d) coefficient[d] = coefficient[d - 1] / T(d);
    vec p = splat<T>(coefficient[E::degree]);
    NNDL_UNROLL
    for (int d = E::degree - 1; d >= 0; --d) p = p * r + splat<T>(coefficient[d]);
    // 2^n as two normal factors 2^n1 2^n2. An integer k held as k + magic has k in its low
    // mantissa bits, so subtracting magic's bits leaves k as an integer: no float-to-int
    // conversion, which AVX2 lacks for 64-bit lanes.
    const vec n1 = (n * splat<T>(T(0.5)) + magic) - magic;
    const vec n2 = n - n1;
    const ivec magic_bits = (ivec)magic;
    const vec s1 = (vec)((((ivec)(n1 + magic) - magic_bits) + E::bias) << E::mantissa_bits);
    const vec s2 = (vec)((((ivec)(n2 + magic) - magic_bits) + E::bias) << E::mantissa_bits);
    vec result = (p * s1) * s2;
    result = select(x > splat<T>(E::overflow), splat<T>(__builtin_inf()), result);
    result = select(x < splat<T>(E::underflow), vec{}, result);
    return result;
}

template <class T>
void sigmoid(T* z, int64_t count) {
    using vec = typename Simd<T>::vec;
    constexpr int L = Simd<T>::lanes;
    int64_t t = 0;
    for (; t + L <= count; t += L) {
        const vec e = exp_of<T>(-load(z + t));
        store(z + t, splat<T>(1) / (splat<T>(1) + e));
    }
    if (t < count) {  // the tail through a padded vector, so every element sees the same exp
        T buffer[L];
        for (int l = 0; l < L; ++l) buffer[l] = t + l < count ? z[t + l] : T(0);
        const vec e = exp_of<T>(-load(buffer));
        store(buffer, splat<T>(1) / (splat<T>(1) + e));
        for (int l = 0; t + l < count; ++l) z[t + l] = buffer[l];
    }
}

// ---- the practical FMA peak of this instruction set on one core ----

double seconds_now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class T>
double fma_peak(double seconds) {
    using vec = typename Simd<T>::vec;
    // Independent chains: more than FMA latency (4-5 cycles) x FMA pipes (2), fewer than registers.
    constexpr int chains = kRegs >= 32 ? 24 : 12;
    constexpr int64_t inner = 1 << 14;
    vec acc[chains];
    for (int c = 0; c < chains; ++c) acc[c] = splat<T>(static_cast<T>(c + 1));
    // acc <- acc*a + b converges to b/(1-a): the values stay normal, nothing overflows.
    const vec a = splat<T>(T(0.999)), b = splat<T>(T(0.001));
    int64_t iterations = 0;
    const double start = seconds_now();
    double elapsed = 0;
    do {
        for (int64_t it = 0; it < inner; ++it) {
            NNDL_UNROLL
            for (int c = 0; c < chains; ++c) acc[c] = acc[c] * a + b;
        }
        iterations += inner;
        elapsed = seconds_now() - start;
    } while (elapsed < seconds);
    vec total{};
    for (int c = 0; c < chains; ++c) total += acc[c];
    volatile T sink = reduce_add(total);  // keeps the loop from being optimized away
    (void)sink;
    return 2.0 * static_cast<double>(iterations) * chains * Simd<T>::lanes / elapsed * 1e-9;
}

double fma_peak_gflops(int bytes_per_value, double seconds) {
    return bytes_per_value == 4 ? fma_peak<float>(seconds) : fma_peak<double>(seconds);
}

template <class T>
constexpr KernelTable<T> make_table() {
    return KernelTable<T>{&dense_forward<T>,     &hidden_forward<T>,
                          &dense_backward<T>,    &dense_weight_gradient<T>,
                          &gathered_rows_sum<T>, &fused_update<T>,
                          &sigmoid<T>,           &first_nonfinite_row<T>,
                          Simd<T>::lanes,        &gather_nonzeros<T>,
                          &sparse_forward<T>,    &sparse_update<T>,
                          &bias_update<T>,       Simd<T>::lanes >= 4 ? &sparse_forward_half<T> : nullptr};
}

}  // namespace
}  // namespace NNDL_KERNEL_NS

extern const KernelSet NNDL_KERNEL_SET;
const KernelSet NNDL_KERNEL_SET{NNDL_KERNEL_NAME, NNDL_KERNEL_NS::make_table<float>(),
                                NNDL_KERNEL_NS::make_table<double>(), &NNDL_KERNEL_NS::fma_peak_gflops};

}  // namespace nndl
