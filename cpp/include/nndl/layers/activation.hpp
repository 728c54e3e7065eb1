// The activations of network3's layers, applied to a layer's output in place, and their
// derivatives written in terms of the output a (which is all backprop keeps). Softmax belongs to
// the softmax layer (softmax.hpp), whose delta with the log-likelihood cost needs no derivative.
#pragma once

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

// delta[t] *= f'(z[t]) where a[t] = f(z[t]). ReLU's derivative at 0 is taken as 0.
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
            for (int64_t t = 0; t < count; ++t) delta[t] *= a[t] * (T(1) - a[t]);
            break;
        case LayerActivation::tanh:
            for (int64_t t = 0; t < count; ++t) delta[t] *= T(1) - a[t] * a[t];
            break;
    }
}

}  // namespace nndl
