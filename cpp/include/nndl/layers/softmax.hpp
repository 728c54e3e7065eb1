// The softmax output layer's activation and the log-likelihood cost that goes with it (the book's
// chapter 3 and network3's SoftmaxLayer). With that cost, dL/dz of the softmax layer is a - y.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace nndl {

// Each of the m rows of z (width values) replaced by its softmax, shifted by the row's maximum
// so that exp never overflows.
template <class T>
void softmax_rows(T* z, int64_t m, int64_t width) {
    for (int64_t i = 0; i < m; ++i) {
        T* row = z + i * width;
        const T top = *std::max_element(row, row + width);
        T total = 0;
        for (int64_t j = 0; j < width; ++j) total += (row[j] = std::exp(row[j] - top));
        for (int64_t j = 0; j < width; ++j) row[j] /= total;
    }
}

// delta[i] = a[i] - onehot(labels[i]) for rows [i0, i1).
template <class T>
void log_likelihood_delta(const T* a, const int64_t* labels, int64_t i0, int64_t i1, int64_t width, T* delta) {
    for (int64_t i = i0; i < i1; ++i) {
        for (int64_t j = 0; j < width; ++j) delta[i * width + j] = a[i * width + j];
        delta[i * width + labels[i]] -= T(1);
    }
}

// -ln a[label], as the book's np.nan_to_num would give it: ln 0 counts as the largest double.
template <class T>
double log_likelihood_cost(const T* a, int64_t label) {
    const double cost = -std::log(static_cast<double>(a[label]));
    if (std::isnan(cost)) return 0.0;
    if (std::isinf(cost)) return std::numeric_limits<double>::max();
    return cost;
}

}  // namespace nndl
