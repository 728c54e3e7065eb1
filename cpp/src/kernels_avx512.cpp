// The SIMD kernels for the "avx512" instruction set. Compiled with -mavx512f -mavx2 -mfma (CMakeLists.txt); chosen only
// when the CPU reports AVX-512F.
#define NNDL_KERNEL_NS avx512
#define NNDL_KERNEL_NAME "avx512"
#define NNDL_VECTOR_BYTES 64
#define NNDL_VECTOR_REGS 32
#define NNDL_KERNEL_SET kernels_avx512
#include "kernels_simd.inl"
