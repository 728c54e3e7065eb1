// Max-pooling over non-overlapping pool_h x pool_w windows, rows and columns beyond the last
// whole window dropped (Theano's ignore_border=True, as network3 uses it). The forward pass
// remembers where each maximum came from, and backward routes each output's error there alone.
// Ties: the first maximum in the window's row-major order takes the whole error (a subgradient;
// the book's Theano picks one element too).
#pragma once

#include <cstdint>

namespace nndl {

// Geometry of a pooling of F feature maps of size (rows, cols), map after map, as the convolution
// produces them: the value of map f at (y, x) is in[(f * rows + y) * cols + x].
struct PoolGeometry {
    int64_t rows, cols, maps, pool_h, pool_w;
    int64_t out_rows() const { return rows / pool_h; }
    int64_t out_cols() const { return cols / pool_w; }
    int64_t out_size() const { return maps * out_rows() * out_cols(); }
};

// The 2x2 windows of the book's networks without branches: which element of a window is largest is
// data, not a pattern, and a mispredicted branch per comparison cost more than the comparison. The
// same strict comparisons in the same order as the general loop below, so the same results.
template <class T>
void max_pool_2x2(const PoolGeometry& g, const T* in, T* out, int64_t* argmax) {
    const int64_t R = g.out_rows(), C = g.out_cols();
    for (int64_t f = 0; f < g.maps; ++f)
        for (int64_t py = 0; py < R; ++py)
            for (int64_t px = 0; px < C; ++px) {
                const int64_t a = (f * g.rows + 2 * py) * g.cols + 2 * px;
                const int64_t candidates[3] = {a + 1, a + g.cols, a + g.cols + 1};  // row-major after a
                T best = in[a];
                int64_t at = a;
                for (int64_t c : candidates) {
                    const bool greater = in[c] > best;  // strict: the first maximum wins ties
                    best = greater ? in[c] : best;
                    at = greater ? c : at;
                }
                const int64_t o = (f * R + py) * C + px;
                out[o] = best;
                argmax[o] = at;
            }
}

// out[(f * out_rows + py) * out_cols + px] = the window's maximum; argmax[same] = its index in `in`.
template <class T>
void max_pool_forward(const PoolGeometry& g, const T* in, T* out, int64_t* argmax) {
    if (g.pool_h == 2 && g.pool_w == 2) return max_pool_2x2(g, in, out, argmax);
    const int64_t R = g.out_rows(), C = g.out_cols();
    for (int64_t f = 0; f < g.maps; ++f)
        for (int64_t py = 0; py < R; ++py)
            for (int64_t px = 0; px < C; ++px) {
                int64_t best = (f * g.rows + py * g.pool_h) * g.cols + px * g.pool_w;
                for (int64_t u = 0; u < g.pool_h; ++u)
                    for (int64_t v = 0; v < g.pool_w; ++v) {
                        const int64_t at = (f * g.rows + py * g.pool_h + u) * g.cols + px * g.pool_w + v;
                        if (in[at] > in[best]) best = at;  // strict: the first maximum wins ties
                    }
                const int64_t o = (f * R + py) * C + px;
                out[o] = in[best];
                argmax[o] = best;
            }
}

// grad_in (zeroed by the caller, g.rows * g.cols * g.maps values) receives each output's error
// at the place of its maximum.
template <class T>
void max_pool_backward(const PoolGeometry& g, const T* grad_out, const int64_t* argmax, T* grad_in) {
    const int64_t count = g.out_size();
    for (int64_t o = 0; o < count; ++o) grad_in[argmax[o]] += grad_out[o];
}

}  // namespace nndl
