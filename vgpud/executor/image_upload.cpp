#include "vgpud/executor/image_upload.h"

#include <algorithm>

#include "vgpu/protocol/limits.h"

namespace vgpud {

bool ImageUpload::append(proto::RingConsumer& ring, uint64_t size) {
  const size_t at = image_.size();
  // Grown by hand: the vector's own doubling would let a 512 MiB image hold 1 GiB. One byte
  // more than the largest image leaves room for the NUL a text image may need at load.
  const size_t capacity =
      at + size <= image_.capacity()
          ? image_.capacity()
          : std::min<size_t>(std::max<size_t>(at + size, 2 * image_.capacity()),
                             vgpu::limits::kMaxModuleImage + 1);
  const bool fits = at + size <= vgpu::limits::kMaxModuleImage &&
                    TenantBudget(budget_).reserve(capacity - image_.capacity());
  if (!fits) {
    drop();
    ring.consume(size);
    return false;
  }
  charge_ += capacity - image_.capacity();
  image_.reserve(capacity);
  image_.resize(at + size);
  ring.read(image_.data() + at, size);
  ring.consume(size);
  return true;
}

bool UploadedImage::terminate_text() {
  if (!bytes_.empty() && bytes_.back() == 0) return true;
  if (bytes_.size() == bytes_.capacity()) {
    // Grown by exactly one byte, not by the vector's doubling, and charged before it is.
    if (!TenantBudget(budget_).reserve(1)) return false;
    charge_ += 1;
    bytes_.reserve(bytes_.size() + 1);
  }
  bytes_.push_back(0);
  return true;
}

UploadedImage ImageUpload::take() {
  std::vector<uint8_t> image;
  image.swap(image_);
  return UploadedImage(std::move(image), budget_, std::exchange(charge_, 0));
}

void ImageUpload::drop() {
  std::vector<uint8_t>().swap(image_);
  TenantBudget(budget_).release(std::exchange(charge_, 0));
}

}  // namespace vgpud
