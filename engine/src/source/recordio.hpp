// Private to source/: MXNet RecordIO (.rec, optionally with a .idx beside it), the format of
// InsightFace's face datasets. Framing (dmlc-core recordio): each part is
//   u32 magic 0xced7230a, u32 lrecord (cflag = lrecord >> 29, length = lrecord & (2^29 - 1)),
//   `length` data bytes, zero padding to a multiple of 4.
// cflag 0 is a whole record; 1, 2..., 3 are the first, middle and last parts of a record that
// was split where its data contained the magic, and the reader re-inserts the magic between
// parts. A record's data is an IRHeader {u32 flag, f32 label, u64 id, u64 id2} (24 bytes), then
// `flag` float32 labels when flag > 0, then the image bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "container.hpp"

namespace residue::detail {

inline constexpr std::uint32_t kRecordIoMagic = 0xced7230a;

/// ItemStream's producer for one RecordIO container: the records starting in context.range (the
/// whole file by default) in file order, numbered from range.items_before; records without image
/// bytes (InsightFace's header record 0) are skipped and counted as non-items. Bad framing ends
/// the container with one error (no safe resync).
[[nodiscard]] std::unique_ptr<ContainerItems> make_recordio_items(ContainerContext context);

/// Records starting in [begin, end) (see FileSlice), by the walk make_recordio_items does; the
/// file's size is its current one. Errors: io_error, corrupt (framing).
[[nodiscard]] Outcome<std::uint64_t> count_recordio_records(int fd, std::uint64_t begin,
                                                            std::uint64_t end);

/// read_item for "record/N": seeks through `idx_path` when that file exists and agrees with the
/// .rec (offsets rising from 0, the magic at the offset), else walks the record headers.
/// Errors: io_error (no such record), corrupt, truncated, empty (no image in that record).
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_recordio_record(int fd,
                                                                      const std::string& idx_path,
                                                                      std::uint64_t index,
                                                                      std::uint64_t max_bytes);

}  // namespace residue::detail
