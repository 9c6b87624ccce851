#include "common/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace lmc {
namespace {

// The published FNV-1a 64 test vectors, and bytes at and above 0x80 (a signed-char slip would
// change those): the hashes recorded in committed results depend on these values.
TEST(Fnv1a64, MatchesTheReferenceVectors) {
  EXPECT_EQ(fnv1a64(std::string_view()), kFnv1a64Basis);
  EXPECT_EQ(hex64(fnv1a64(std::string_view("a"))), "af63dc4c8601ec8c");
  EXPECT_EQ(hex64(fnv1a64(std::string_view("foobar"))), "85944171f73967e8");
  const Bytes high = {0xff, 0x80, 0x00, 0x7f};
  EXPECT_EQ(hex64(fnv1a64(ByteView(high))), "be1edb6705cc2dd3");
}

TEST(Fnv1a64, HashesInPiecesAsInOne) {
  EXPECT_EQ(fnv1a64(std::string_view("bar"), fnv1a64(std::string_view("foo"))),
            fnv1a64(std::string_view("foobar")));
}

TEST(Hex64, IsSixteenLowerCaseDigits) {
  EXPECT_EQ(hex64(0), "0000000000000000");
  EXPECT_EQ(hex64(0xABCDEF0123456789ull), "abcdef0123456789");
}

}  // namespace
}  // namespace lmc
