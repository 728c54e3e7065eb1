// A test set, built only with -DNNDL_AVX512_ON_AVX2=ON (CMakeLists.txt): the "avx512" set's source
// with its 64-byte vectors, compiled for AVX2 (the compiler splits each vector in two), so that a
// machine without AVX-512 runs the avx512 kernels' lane counts, reduction trees, tiles and parity
// halves. Its few AVX-512 instructions (masked loads and stores, vfixupimm, vcompress) are not
// there: those spots take the code the other sets take. Never chosen automatically
// (cpp/src/dispatch.cpp); NNDL_SIMD=avx512-on-avx2 or nndl.set_simd() selects it.
#define NNDL_KERNEL_NS avx512_on_avx2
#define NNDL_KERNEL_NAME "avx512-on-avx2"
#define NNDL_VECTOR_BYTES 64
#define NNDL_VECTOR_REGS 32
#define NNDL_KERNEL_SET kernels_avx512_on_avx2
#include "kernels_simd.inl"
