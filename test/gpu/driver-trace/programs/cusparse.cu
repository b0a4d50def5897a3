// cusparse.cu: y = A x with the generic SpMV API on a CSR tridiagonal(-1, 2, -1) matrix and
// x = 1..n; every row of the result but the last is 0 except the first.
#include <cuda_runtime.h>
#include <cusparse.h>
#include <vector>
#include "check.h"

int main()
{
    const int n = 1000;
    std::vector<int> rowptr(n + 1), col;
    std::vector<float> val, x(n), y(n);
    for (int i = 0; i < n; i++) {
        rowptr[i] = (int)col.size();
        for (int j = i - 1; j <= i + 1; j++)
            if (j >= 0 && j < n) {
                col.push_back(j);
                val.push_back(i == j ? 2.0f : -1.0f);
            }
        x[i] = (float)(i + 1);
    }
    rowptr[n] = (int)col.size();
    int nnz = (int)col.size();
    int *drow, *dcol;
    float *dval, *dx, *dy;
    CHECK_CUDA(cudaMalloc(&drow, (n + 1) * sizeof(int)));
    CHECK_CUDA(cudaMalloc(&dcol, nnz * sizeof(int)));
    CHECK_CUDA(cudaMalloc(&dval, nnz * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&dx, n * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&dy, n * sizeof(float)));
    CHECK_CUDA(cudaMemcpy(drow, rowptr.data(), (n + 1) * sizeof(int), cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(dcol, col.data(), nnz * sizeof(int), cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(dval, val.data(), nnz * sizeof(float), cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));

    cusparseHandle_t h;
    CHECK_STATUS(cusparseCreate(&h));
    cusparseSpMatDescr_t A;
    cusparseDnVecDescr_t vx, vy;
    CHECK_STATUS(cusparseCreateCsr(&A, n, n, nnz, drow, dcol, dval, CUSPARSE_INDEX_32I,
                                   CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    CHECK_STATUS(cusparseCreateDnVec(&vx, n, dx, CUDA_R_32F));
    CHECK_STATUS(cusparseCreateDnVec(&vy, n, dy, CUDA_R_32F));
    const float one = 1.0f, zero = 0.0f;
    size_t bufsize = 0;
    CHECK_STATUS(cusparseSpMV_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, A, vx, &zero, vy,
                                         CUDA_R_32F, CUSPARSE_SPMV_ALG_DEFAULT, &bufsize));
    void *buf;
    CHECK_CUDA(cudaMalloc(&buf, bufsize > 0 ? bufsize : 1));
    CHECK_STATUS(cusparseSpMV(h, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, A, vx, &zero, vy, CUDA_R_32F,
                              CUSPARSE_SPMV_ALG_DEFAULT, buf));
    CHECK_CUDA(cudaMemcpy(y.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost));
    double sum = 0;
    for (float v : y)
        sum += v;
    printf("spmv y[0]=%.1f y[500]=%.1f y[n-1]=%.1f sum=%.1f\n", y[0], y[500], y[n - 1], sum);
    cusparseDestroySpMat(A);
    cusparseDestroyDnVec(vx);
    cusparseDestroyDnVec(vy);
    CHECK_STATUS(cusparseDestroy(h));
    cudaFree(buf);
    cudaFree(drow);
    cudaFree(dcol);
    cudaFree(dval);
    cudaFree(dx);
    cudaFree(dy);
    printf("ok\n");
    return 0;
}
