// A module image arriving in pieces (BLOB_APPEND, each through the upload ring), held until
// MODULE_LOAD takes it. Its host memory is memory the guest makes vgpud hold: the capacity is
// taken from the tenant's limits.module_image_memory before it is allocated, and an image over
// that limit or over kMaxModuleImage is dropped whole (its MODULE_LOAD then fails), so nothing
// is held for it.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "vgpu/protocol/ring.h"
#include "vgpud/executor/tenant_budget.h"
#include "vgpud/protocol_alias.h"

namespace vgpud {

// An image handed over for loading; its host memory stays charged until this dies.
class UploadedImage {
 public:
  UploadedImage(std::vector<uint8_t> bytes, BudgetRef budget, uint64_t charge)
      : bytes_(std::move(bytes)), budget_(budget), charge_(charge) {}
  ~UploadedImage() { TenantBudget(budget_).release(charge_); }
  // Moving keeps the bytes where they are (a link's inputs are kept while the driver's linker
  // may point into them) and hands the charge over.
  UploadedImage(UploadedImage&& other) noexcept
      : bytes_(std::move(other.bytes_)), budget_(other.budget_), charge_(std::exchange(other.charge_, 0)) {}
  UploadedImage(const UploadedImage&) = delete;
  UploadedImage& operator=(const UploadedImage&) = delete;
  UploadedImage& operator=(UploadedImage&&) = delete;

  // The bytes; growing them within the capacity reserved (a text image's NUL) is allowed.
  std::vector<uint8_t>& bytes() { return bytes_; }
  // Ends the bytes with a NUL unless their last byte is one (PTX is read up to its NUL). A byte
  // beyond the capacity already charged is taken from the budget first: false, and the bytes
  // unchanged, when it has no room for it.
  [[nodiscard]] bool terminate_text();

 private:
  std::vector<uint8_t> bytes_;
  BudgetRef budget_;
  uint64_t charge_;
};

class ImageUpload {
 public:
  explicit ImageUpload(BudgetRef budget) : budget_(budget) {}
  ~ImageUpload() { drop(); }
  ImageUpload(const ImageUpload&) = delete;
  ImageUpload& operator=(const ImageUpload&) = delete;

  // Appends the next `size` bytes of `ring`, which holds at least that many (the caller
  // checked). The ring is consumed either way; false when the image would pass a limit, and
  // it is then dropped whole.
  [[nodiscard]] bool append(proto::RingConsumer& ring, uint64_t size);
  // Hands over the image assembled so far, leaving none.
  UploadedImage take();
  // Frees the image and gives its host memory back to the tenant.
  void drop();

 private:
  BudgetRef budget_;
  std::vector<uint8_t> image_;
  uint64_t charge_ = 0;  // its capacity, taken from budget_
};

}  // namespace vgpud
