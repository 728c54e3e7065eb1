// The activations of both fronts' layers (network2's Network and network3's layer list), applied to
// a layer's output in place, and their derivatives written in terms of the output a (which is all
// backprop keeps). Softmax is applied per row (softmax.hpp); with the log-likelihood cost its
// delta needs no derivative.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "nndl/kernel_table.hpp"

namespace nndl {

enum class LayerActivation { linear, relu, sigmoid, tanh, softmax };

template <class T>
void apply_layer_activation(const KernelTable<T>& kernels, LayerActivation act, T* z, int64_t count) {
    switch (act) {
        case LayerActivation::linear:
        case LayerActivation::softmax:  // done per row by the softmax layer
            break;
        case LayerActivation::relu:
            for (int64_t t = 0; t < count; ++t) z[t] = z[t] > 0 ? z[t] : T(0);
            break;
        case LayerActivation::sigmoid:
            kernels.sigmoid(z, count);
            break;
        case LayerActivation::tanh:
            for (int64_t t = 0; t < count; ++t) z[t] = std::tanh(z[t]);
            break;
    }
}

// f'(z) where a = f(z). ReLU's derivative at 0 is taken as 0; softmax's is folded into its
// delta (1 here), as is the linear activation's.
template <class T>
inline T derivative_at_output(LayerActivation act, T a) {
    switch (act) {
        case LayerActivation::sigmoid:
            return a * (T(1) - a);
        case LayerActivation::tanh:
            return T(1) - a * a;
        case LayerActivation::relu:
            return a > 0 ? T(1) : T(0);
        case LayerActivation::linear:
        case LayerActivation::softmax:
            break;
    }
    return T(1);
}

// d[t] = f'(z[t]) where a[t] = f(z[t]), one loop per activation (the choice inside the loop, per
// element, kept it scalar: 9 us a mini-batch for 100 x 100 sigmoid outputs, 2% of a 784-100-10 epoch).
template <class T>
void write_derivative_at_output(LayerActivation act, const T* a, T* d, int64_t count) {
    switch (act) {
        case LayerActivation::sigmoid:
#pragma omp simd
            for (int64_t t = 0; t < count; ++t) d[t] = derivative_at_output(LayerActivation::sigmoid, a[t]);
            break;
        case LayerActivation::tanh:
#pragma omp simd
            for (int64_t t = 0; t < count; ++t) d[t] = derivative_at_output(LayerActivation::tanh, a[t]);
            break;
        case LayerActivation::relu:
#pragma omp simd
            for (int64_t t = 0; t < count; ++t) d[t] = derivative_at_output(LayerActivation::relu, a[t]);
            break;
        case LayerActivation::linear:
        case LayerActivation::softmax:
            std::fill(d, d + count, T(1));
            break;
    }
}

// delta[t] *= f'(z[t]) where a[t] = f(z[t]). ReLU passes delta or 0 (not delta * 0: an infinite
// error below a dead unit stays 0, not NaN).
template <class T>
void multiply_by_derivative(LayerActivation act, const T* a, T* delta, int64_t count) {
    switch (act) {
        case LayerActivation::linear:
        case LayerActivation::softmax:
            break;
        case LayerActivation::relu:
            for (int64_t t = 0; t < count; ++t) delta[t] = a[t] > 0 ? delta[t] : T(0);
            break;
        case LayerActivation::sigmoid:
            for (int64_t t = 0; t < count; ++t) delta[t] *= derivative_at_output(LayerActivation::sigmoid, a[t]);
            break;
        case LayerActivation::tanh:
            for (int64_t t = 0; t < count; ++t) delta[t] *= derivative_at_output(LayerActivation::tanh, a[t]);
            break;
    }
}

}  // namespace nndl
