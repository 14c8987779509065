#include <doctest/doctest.h>

#include "residue/report.hpp"

using namespace residue;

TEST_CASE("json_quote escapes quotes, backslashes and control characters") {
  CHECK(json_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_quote("x\ny\tz\x01") == "\"x\\ny\\tz\\u0001\"");
}

TEST_CASE("json_quote keeps valid UTF-8 and escapes invalid bytes so the output is valid JSON") {
  CHECK(json_quote("caf\xc3\xa9.jpg") == "\"caf\xc3\xa9.jpg\"");
  CHECK(json_quote("bad\xff\xfe.jpg") == "\"bad\\u00ff\\u00fe.jpg\"");
  CHECK(json_quote("\xc3") == "\"\\u00c3\"");                        // truncated sequence
  CHECK(json_quote("\xc0\xaf") == "\"\\u00c0\\u00af\"");             // overlong encoding of '/'
  CHECK(json_quote("\xed\xa0\x80") == "\"\\u00ed\\u00a0\\u0080\"");  // UTF-16 surrogate
}

TEST_CASE("hash lines for ok and failed records") {
  ItemRecord ok;
  ok.locator = "dir/a,b.jpg";
  ok.size = 10;
  ok.format = ImageFormat::jpeg;
  ok.width = 3;
  ok.height = 4;
  ok.quality = 99;
  ok.pdq.set_bit(0);
  ok.phash.bits = 0xabc;
  CHECK(hash_csv_line(ok) == std::string(63, '0') + "1,99,dir/a,b.jpg");
  const std::string json = hash_json_line(ok);
  CHECK(json.find("\"locator\":\"dir/a,b.jpg\"") != std::string::npos);
  CHECK(json.find("\"phash\":\"0000000000000abc\"") != std::string::npos);
  CHECK(json.find("\"error\":null") != std::string::npos);
  CHECK(json.find("pdq_dihedral") == std::string::npos);

  ItemRecord bad;
  bad.locator = "x.jpg";
  bad.error = ItemError{ErrorCode::truncated, "JPEG data ends before the end-of-image marker"};
  CHECK(error_line(bad) == "x.jpg: truncated: JPEG data ends before the end-of-image marker");
  CHECK(hash_json_line(bad).find(
            "\"error\":{\"code\":\"truncated\",\"message\":\"JPEG data ends") != std::string::npos);
}

TEST_CASE("error_counts lists failures by code in code order") {
  CHECK(error_counts({}) == "");
  CHECK(error_counts({{ErrorCode::corrupt, 1}, {ErrorCode::empty, 3}}) == "empty: 3, corrupt: 1");
}
