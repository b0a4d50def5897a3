// cufft.cu: a 1D complex-to-complex forward FFT of two tones; prints the magnitudes at the tone
// bins (N/2 and N/4 of the amplitude) and how many bins are non-zero.
#include <cmath>
#include <cuda_runtime.h>
#include <cufft.h>
#include <vector>
#include "check.h"

int main()
{
    const int n = 1024;
    std::vector<cufftComplex> x(n);
    for (int i = 0; i < n; i++) {
        double t = 2 * M_PI * i / n;
        x[i].x = (float)(cos(5 * t) + 0.5 * sin(17 * t));
        x[i].y = 0.0f;
    }
    cufftComplex *d;
    CHECK_CUDA(cudaMalloc(&d, n * sizeof(cufftComplex)));
    CHECK_CUDA(cudaMemcpy(d, x.data(), n * sizeof(cufftComplex), cudaMemcpyHostToDevice));
    cufftHandle plan;
    CHECK_STATUS(cufftPlan1d(&plan, n, CUFFT_C2C, 1));
    CHECK_STATUS(cufftExecC2C(plan, d, d, CUFFT_FORWARD));
    CHECK_CUDA(cudaDeviceSynchronize());
    CHECK_CUDA(cudaMemcpy(x.data(), d, n * sizeof(cufftComplex), cudaMemcpyDeviceToHost));
    auto mag = [&](int k) { return std::hypot(x[k].x, x[k].y); };
    int nonzero = 0;
    for (int k = 0; k < n; k++)
        nonzero += mag(k) > 1.0;
    printf("|X[5]|=%.2f |X[17]|=%.2f |X[1007]|=%.2f nonzero=%d\n", mag(5), mag(17), mag(n - 17), nonzero);
    CHECK_STATUS(cufftDestroy(plan));
    cudaFree(d);
    printf("ok\n");
    return 0;
}
