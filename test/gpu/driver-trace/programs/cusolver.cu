// cusolver.cu: Cholesky factorisation (cusolverDnSpotrf) of a symmetric positive definite
// matrix, then a solve (cusolverDnSpotrs) of A x = A * ones, whose answer is all ones.
#include <cmath>
#include <cuda_runtime.h>
#include <cusolverDn.h>
#include <vector>
#include "check.h"

int main()
{
    const int n = 64;
    std::vector<float> a(n * n), b(n, 0.0f);
    // A = tridiagonal(-1, 4, -1): diagonally dominant, so SPD.
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
            a[i + j * n] = i == j ? 4.0f : (std::abs(i - j) == 1 ? -1.0f : 0.0f);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            b[i] += a[i + j * n];
    float *da, *db, *work;
    int *info;
    CHECK_CUDA(cudaMalloc(&da, n * n * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&db, n * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&info, sizeof(int)));
    CHECK_CUDA(cudaMemcpy(da, a.data(), n * n * sizeof(float), cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(db, b.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    cusolverDnHandle_t h;
    CHECK_STATUS(cusolverDnCreate(&h));
    int lwork = 0;
    CHECK_STATUS(cusolverDnSpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, da, n, &lwork));
    CHECK_CUDA(cudaMalloc(&work, lwork * sizeof(float)));
    CHECK_STATUS(cusolverDnSpotrf(h, CUBLAS_FILL_MODE_LOWER, n, da, n, work, lwork, info));
    int hinfo = -1;
    CHECK_CUDA(cudaMemcpy(&hinfo, info, sizeof(int), cudaMemcpyDeviceToHost));
    CHECK_STATUS(cusolverDnSpotrs(h, CUBLAS_FILL_MODE_LOWER, n, 1, da, n, db, n, info));
    CHECK_CUDA(cudaMemcpy(b.data(), db, n * sizeof(float), cudaMemcpyDeviceToHost));
    double maxerr = 0;
    for (float v : b)
        maxerr = std::fmax(maxerr, std::fabs(v - 1.0));
    printf("potrf info=%d solve_err<1e-4=%d\n", hinfo, maxerr < 1e-4);
    CHECK_STATUS(cusolverDnDestroy(h));
    cudaFree(da);
    cudaFree(db);
    cudaFree(info);
    cudaFree(work);
    printf("ok\n");
    return 0;
}
