// "Valid" 2-D convolution of a (channels, height, width) image with F filters of
// (channels, filter_h, filter_w), stride 1, computed as im2col followed by the engine's dense
// kernels: each output position's receptive field is copied into one row of a patch matrix
// (positions, channels*filter_h*filter_w), and the filters, stored (F, channels*filter_h*filter_w),
// are dense-layer weights over those rows. The product is laid out position-major, (positions, F).
//
// This is cross-correlation (the filter is not flipped), as in PyTorch and most frameworks.
// Theano's conv2d, which the book's network3 calls, flips the filter (true convolution): to load
// weights trained by network3 into nndl, flip them, w[:, :, ::-1, ::-1]. Training from scratch is
// unaffected (a flipped filter is just another filter).
#pragma once

#include <cstdint>

namespace nndl {

struct ConvGeometry {
    int64_t channels, height, width, filters, filter_h, filter_w;
    int64_t out_rows() const { return height - filter_h + 1; }
    int64_t out_cols() const { return width - filter_w + 1; }
    int64_t positions() const { return out_rows() * out_cols(); }
    int64_t patch_size() const { return channels * filter_h * filter_w; }
    int64_t in_size() const { return channels * height * width; }
};

// patches[p * patch_size + (c * filter_h + u) * filter_w + v] = image[c][oy + u][ox + v], p = oy * out_cols + ox.
template <class T>
void im2col(const ConvGeometry& g, const T* image, T* patches) {
    const int64_t OR = g.out_rows(), OC = g.out_cols(), K = g.patch_size();
    for (int64_t oy = 0; oy < OR; ++oy)
        for (int64_t ox = 0; ox < OC; ++ox) {
            T* row = patches + (oy * OC + ox) * K;
            for (int64_t c = 0; c < g.channels; ++c)
                for (int64_t u = 0; u < g.filter_h; ++u) {
                    const T* src = image + (c * g.height + oy + u) * g.width + ox;
                    T* dst = row + (c * g.filter_h + u) * g.filter_w;
                    for (int64_t v = 0; v < g.filter_w; ++v) dst[v] = src[v];
                }
        }
}

// The error of the image (channels, height, width), accumulated into grad_image, from the error
// of the convolution's outputs grad_out (positions, F). Positions whose error is 0 (three in four
// after a 2x2 max-pool) are skipped: they add nothing.
template <class T>
void convolution_input_gradient(const ConvGeometry& g, const T* grad_out, const T* filters, T* grad_image) {
    const int64_t OC = g.out_cols(), F = g.filters, K = g.patch_size();
    for (int64_t p = 0; p < g.positions(); ++p) {
        const int64_t oy = p / OC, ox = p % OC;
        for (int64_t f = 0; f < F; ++f) {
            const T e = grad_out[p * F + f];
            if (e == T(0)) continue;
            const T* w = filters + f * K;
            for (int64_t c = 0; c < g.channels; ++c)
                for (int64_t u = 0; u < g.filter_h; ++u) {
                    T* dst = grad_image + (c * g.height + oy + u) * g.width + ox;
                    const T* wr = w + (c * g.filter_h + u) * g.filter_w;
                    for (int64_t v = 0; v < g.filter_w; ++v) dst[v] += e * wr[v];
                }
        }
    }
}

}  // namespace nndl
