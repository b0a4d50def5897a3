// curand.cu: the cuRAND host API: a seeded pseudo-random generator fills device memory with
// uniform floats; the first values and the mean are deterministic for the seed.
#include <cuda_runtime.h>
#include <curand.h>
#include <vector>
#include "check.h"

int main()
{
    const size_t n = 1 << 20;
    float *d;
    CHECK_CUDA(cudaMalloc(&d, n * sizeof(float)));
    curandGenerator_t g;
    CHECK_STATUS(curandCreateGenerator(&g, CURAND_RNG_PSEUDO_DEFAULT));
    CHECK_STATUS(curandSetPseudoRandomGeneratorSeed(g, 1234ULL));
    CHECK_STATUS(curandGenerateUniform(g, d, n));
    std::vector<float> h(n);
    CHECK_CUDA(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
    double sum = 0;
    for (float v : h)
        sum += v;
    printf("first=%.6f %.6f %.6f mean=%.3f\n", h[0], h[1], h[2], sum / n);
    CHECK_STATUS(curandDestroyGenerator(g));
    cudaFree(d);
    printf("ok\n");
    return 0;
}
