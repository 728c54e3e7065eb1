// "Valid" 2-D convolution of a (channels, height, width) image with F filters of
// (channels, filter_h, filter_w), stride 1, computed as im2col followed by the engine's dense
// kernels: the receptive fields are copied into a column matrix
// (see im2col below), and the filters, stored (F, channels*filter_h*filter_w), multiply it with
// the dense kernels. The output is laid out map-major, (F, positions), as the book's images are.
//
// This is cross-correlation (the filter is not flipped), as in PyTorch and most frameworks.
// Theano's conv2d, which the book's network3 calls, flips the filter (true convolution): to load
// weights trained by network3 into nndl, flip them, w[:, :, ::-1, ::-1]. Training from scratch is
// unaffected (a flipped filter is just another filter).
#pragma once

#include <cstdint>
#include <type_traits>

namespace nndl {

struct ConvGeometry {
    int64_t channels, height, width, filters, filter_h, filter_w;
    int64_t out_rows() const { return height - filter_h + 1; }
    int64_t out_cols() const { return width - filter_w + 1; }
    int64_t positions() const { return out_rows() * out_cols(); }
    int64_t patch_size() const { return channels * filter_h * filter_w; }
    int64_t in_size() const { return channels * height * width; }
};

// cols[((c * filter_h + u) * filter_w + v) * positions + p] = image[c][oy + u][ox + v], p = oy * out_cols + ox:
// the receptive fields as columns, so that each row of cols is a shifted copy of part of the image
// and the convolution is out (F, positions) = W (F, patch_size) x cols (patch_size, positions), a
// product whose inner loops run along the positions (hundreds long) rather than along a 5x5 patch.
template <class T>
void im2col(const ConvGeometry& g, const T* image, T* cols) {
    const int64_t OR = g.out_rows(), OC = g.out_cols(), P = g.positions();
    for (int64_t c = 0; c < g.channels; ++c)
        for (int64_t u = 0; u < g.filter_h; ++u)
            for (int64_t v = 0; v < g.filter_w; ++v) {
                T* row = cols + ((c * g.filter_h + u) * g.filter_w + v) * P;
                for (int64_t oy = 0; oy < OR; ++oy) {
                    const T* src = image + (c * g.height + oy + u) * g.width + v;
                    for (int64_t ox = 0; ox < OC; ++ox) row[oy * OC + ox] = src[ox];
                }
            }
}

// The loops below copy or add filter_w numbers at a time; with the width a compile-time constant (FW
// > 0: the book's 5x5 filters, and 3x3) each is a couple of vector moves instead of a loop of runtime
// length. FW = 0 reads the width from the geometry.
template <int FW>
inline int64_t filter_width(const ConvGeometry& g) {
    return FW > 0 ? FW : g.filter_w;
}

template <class T, int FW>
void im2row_fixed(const ConvGeometry& g, const T* image, int64_t stride, T* rows) {
    const int64_t OR = g.out_rows(), OC = g.out_cols(), K = g.patch_size(), fw = filter_width<FW>(g);
    for (int64_t oy = 0; oy < OR; ++oy)
        for (int64_t ox = 0; ox < OC; ++ox) {
            T* row = rows + (oy * OC + ox) * stride;
            for (int64_t c = 0; c < g.channels; ++c)
                for (int64_t u = 0; u < g.filter_h; ++u) {
                    const T* src = image + (c * g.height + oy + u) * g.width + ox;
                    T* dst = row + (c * g.filter_h + u) * fw;
                    for (int64_t v = 0; v < fw; ++v) dst[v] = src[v];
                }
            for (int64_t k = K; k < stride; ++k) row[k] = T(0);
        }
}

// body(std::integral_constant<int, FW>{}) with FW the filter width when it is one the loops are
// compiled for (the book's 5, and 3), else FW = 0 (the width read from the geometry).
template <class Body>
void with_filter_width(const ConvGeometry& g, Body body) {
    switch (g.filter_w) {
        case 5:
            return body(std::integral_constant<int, 5>{});
        case 3:
            return body(std::integral_constant<int, 3>{});
        default:
            return body(std::integral_constant<int, 0>{});
    }
}

// rows[p * stride + (c * filter_h + u) * filter_w + v] = image[c][oy + u][ox + v]: the receptive
// field of each output position as one contiguous row (the transpose of im2col's columns), each row
// padded with zeros from patch_size to stride (>= patch_size) so that it is a whole number of vectors.
template <class T>
void im2row(const ConvGeometry& g, const T* image, int64_t stride, T* rows) {
    with_filter_width(g, [&](auto fw) { im2row_fixed<T, decltype(fw)::value>(g, image, stride, rows); });
}

template <class T, int FW>
void row2im_add_fixed(const ConvGeometry& g, const T* grad_rows, const unsigned char* used, T* grad_image) {
    const int64_t OR = g.out_rows(), OC = g.out_cols(), K = g.patch_size(), fw = filter_width<FW>(g);
    for (int64_t oy = 0; oy < OR; ++oy)
        for (int64_t ox = 0; ox < OC; ++ox) {
            if (!used[oy * OC + ox]) continue;
            const T* row = grad_rows + (oy * OC + ox) * K;
            for (int64_t c = 0; c < g.channels; ++c)
                for (int64_t u = 0; u < g.filter_h; ++u) {
                    T* dst = grad_image + (c * g.height + oy + u) * g.width + ox;
                    const T* src = row + (c * g.filter_h + u) * fw;
                    for (int64_t v = 0; v < fw; ++v) dst[v] += src[v];
                }
        }
}

// grad_image (channels, height, width) += the receptive-field errors grad_rows (positions,
// patch_size), each added back where im2row took it from; positions whose `used` is 0 hold no
// error and are skipped (their rows need not even be written).
template <class T>
void row2im_add(const ConvGeometry& g, const T* grad_rows, const unsigned char* used, T* grad_image) {
    with_filter_width(g, [&](auto fw) { row2im_add_fixed<T, decltype(fw)::value>(g, grad_rows, used, grad_image); });
}

}  // namespace nndl
